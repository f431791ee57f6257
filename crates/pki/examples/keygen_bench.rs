//! RSA-2048 key generation and signing rates of the software signer
//! (aws-lc-rs), for comparison with the anchors' OpenSSL figures
//! (../shared/anchors/keygen.sh) in `bench/pki.sh`.
//!
//! ```text
//! cargo run --release -p mynacard-pki --example keygen_bench -- [--seconds 10]
//! cargo run --release -p mynacard-pki --example keygen_bench -- --sign [--seconds 3]
//! ```
//!
//! Keygen: [`SoftwareKey::generate`] in a loop until `--seconds` have passed
//! and at least 20 keys were made (the anchors' loop). Sign: PKCS#1 v1.5
//! SHA-256 signatures over 100 bytes (the anchors' Python loop) with one key.
//! Prints `rate count seconds`.

use std::time::Instant;

use mynacard_pki::{Signer, SoftwareKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seconds: Option<f64> = None;
    let mut sign = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = Some(args.next().ok_or("--seconds needs a value")?.parse()?),
            "--sign" => sign = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let budget = seconds.unwrap_or(if sign { 3.0 } else { 10.0 });
    let started = Instant::now();
    let mut n = 0u64;
    if sign {
        let key = SoftwareKey::generate()?;
        let message = [b'x'; 100];
        while started.elapsed().as_secs_f64() < budget {
            for _ in 0..50 {
                std::hint::black_box(key.sign(std::hint::black_box(&message))?);
            }
            n += 50;
        }
    } else {
        loop {
            std::hint::black_box(SoftwareKey::generate()?);
            n += 1;
            if started.elapsed().as_secs_f64() >= budget && n >= 20 {
                break;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("{:.2} {n} {elapsed:.3}", n as f64 / elapsed);
    Ok(())
}
