//! The codec the generated service (and client) encode and decode messages with: prost's,
//! with buffers that start small. tonic starts every stream with an 8 KB encode buffer and
//! an 8 KB decode buffer; an idle Subscribe stream (one request read, nothing to send for
//! minutes) kept both. Started at [`START`], they grow as a batch needs.

use std::marker::PhantomData;

use tonic::codec::BufferSettings;
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// The bytes an encode or decode buffer starts with.
pub const START: usize = 1024;
/// tonic's own: a response stream yields to the connection after this many bytes.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// prost's codec, its buffers starting at [`START`] bytes.
#[derive(Debug)]
pub struct Codec<T, U>(PhantomData<fn() -> (T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

fn settings() -> BufferSettings {
    BufferSettings::new(START, YIELD_THRESHOLD)
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(settings())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, U>::raw_decoder(settings())
    }
}
