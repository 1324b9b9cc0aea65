//! Generates the `eventbus.v1` messages and the tonic server (and, for tests, client) from
//! `proto/pubsub.proto`, compiled in Rust by protox: no `protoc` needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "../../proto/pubsub.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile(["pubsub.proto"], ["../../proto"])?;
    tonic_prost_build::configure()
        .bytes(".")
        // prost's codec with small starting buffers (src/codec.rs).
        .codec_path("crate::codec::Codec")
        .build_client(true)
        .build_transport(false)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
