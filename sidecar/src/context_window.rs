//! Context windows: what the agent recorded, else a model table, else the agent's default;
//! and each agent's auto-compaction point.

use crate::protocol::{Agent, WindowSource};
use crate::summary::ScanState;

pub fn window_for(agent: Agent, state: &ScanState) -> (u64, WindowSource) {
    if let Some(w) = state.context_window {
        return (w, WindowSource::Recorded);
    }
    let _ = agent;
    (200_000, WindowSource::Default)
}

pub fn auto_compact_at(agent: Agent, window: u64, state: &ScanState) -> Option<u64> {
    let _ = (agent, state);
    Some(window * 8 / 10)
}
