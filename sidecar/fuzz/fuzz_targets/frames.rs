//! JSON-RPC framing. The input is the byte stream a client sends on stdin.
//! 1. The tolerant decoder (`framing::Decoder`): the same frames whatever the read sizes;
//!    every message it passes is one tower-lsp-server accepts (so its decoder never sees a bad
//!    frame, which would end the session); every bad frame is answered -32700 or -32600;
//!    memory stays bounded.
//! 2. The real server in-process (`server::serve_io`, initialized on an empty home): it returns
//!    at end of input, and everything it writes is well-formed frames of JSON-RPC responses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use session_sidecar::framing::{self, Decoder, Frame};
use std::sync::OnceLock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn decode(input: &[u8], step: usize) -> Vec<Frame> {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    for chunk in input.chunks(step.max(1)) {
        d.push(chunk);
        while let Some(f) = d.next_frame() {
            out.push(f);
        }
        assert!(
            d.buffered() <= framing::MAX_BODY_BYTES + framing::MAX_HEADER_BYTES + step,
            "decoder holds {} bytes",
            d.buffered()
        );
    }
    out
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let env = session_sidecar_fuzz::env();
    let whole = decode(data, data.len());
    let step = 1 + data.first().copied().unwrap_or(0) as usize % 17;
    assert_eq!(decode(data, step), whole, "split reads of {step} bytes");
    let mut starts_watchers = false;
    for f in &whole {
        match f {
            Frame::Message(body) => {
                assert!(
                    serde_json::from_slice::<tower_lsp_server::jsonrpc::Request>(body).is_ok()
                        || serde_json::from_slice::<tower_lsp_server::jsonrpc::Response>(body)
                            .is_ok(),
                    "passed a frame tower-lsp-server cannot decode"
                );
                let v: serde_json::Value = serde_json::from_slice(body).unwrap();
                // `initialized` starts file watchers and threads: not per fuzz run.
                if v["method"] == "initialized" {
                    starts_watchers = true;
                }
            }
            Frame::Error { code, id, .. } => {
                assert!(*code == framing::PARSE_ERROR || *code == framing::INVALID_REQUEST);
                let bytes = Frame::error_response(id, *code, "x");
                let mut b = bytes.clone();
                assert_eq!(framing::take_output_frame(&mut b), Some(bytes));
            }
        }
    }
    if starts_watchers {
        return;
    }

    // The real server, initialized on the empty fuzz home.
    let init = serde_json::json!({
        "jsonrpc": "2.0", "id": "init", "method": "initialize",
        "params": {"capabilities": {}, "initializationOptions": {
            "home": env.home, "workspace": "/nonexistent/fuzz-workspace"}}
    });
    let init = framing::frame_bytes(init.to_string().as_bytes());
    let data = data.to_vec();
    let output = runtime().block_on(async move {
        let (mut in_w, in_r) = tokio::io::duplex(1 << 16);
        let (out_w, mut out_r) = tokio::io::duplex(1 << 16);
        // The client: initialize, wait for its answer, then the fuzz bytes, then end of input.
        let client = tokio::spawn(async move {
            let mut out = Vec::new();
            let _ = in_w.write_all(&init).await;
            let mut chunk = vec![0u8; 4096];
            while framing::take_output_frame(&mut out.clone()).is_none() {
                match out_r.read(&mut chunk).await {
                    Ok(0) | Err(_) => return out,
                    Ok(n) => out.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = in_w.write_all(&data).await;
            let _ = in_w.shutdown().await;
            drop(in_w);
            let _ = out_r.read_to_end(&mut out).await;
            out
        });
        let opts = session_sidecar::server::ServeOptions::default();
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            session_sidecar::server::serve_io(opts, in_r, out_w),
        )
        .await
        .expect("the server returns at end of input");
        client.await.unwrap()
    });
    let mut rest = output;
    while !rest.is_empty() {
        let frame = framing::take_output_frame(&mut rest).expect("whole frames out");
        let body = &frame[frame.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        let v: serde_json::Value = serde_json::from_slice(body).expect("JSON out");
        assert_eq!(v["jsonrpc"], "2.0");
    }
});
