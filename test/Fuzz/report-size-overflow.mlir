// glu-report multiplied static sizes in int64_t without overflow checks:
// d_model·d_ff, the token count, bytes and the LLaMA width rule overflow
// (undefined behaviour, reported by UBSan: "signed integer overflow: 8589934592
// * 4294967296" in Report.cpp) for large static dims, which the verifier
// accepts. Now every size is computed with overflow checks and a block whose
// sizes do not fit in int64_t gets a remark saying so.
// Found by a targeted swiglu-fuzz input (pipeline glu-report) on the
// UBSan-instrumented fuzz build.
// RUN: swiglu-opt %s --glu-report --split-input-file --verify-diagnostics -o /dev/null

func.func @huge_dims(%x: tensor<4294967296x4294967296xf32>, %wg: tensor<4294967296x4294967296xf32>,
                     %wu: tensor<4294967296x4294967296xf32>, %wd: tensor<4294967296x4294967296xf32>)
    -> tensor<4294967296x4294967296xf32> {
  // expected-remark @+1 {{glu.ffn silu: d_model=4294967296 d_ff=4294967296 d_out=4294967296; sizes overflow 64-bit integers, not reported}}
  %r = glu.ffn silu %x : tensor<4294967296x4294967296xf32> gate %wg : tensor<4294967296x4294967296xf32>
         up %wu : tensor<4294967296x4294967296xf32> down %wd : tensor<4294967296x4294967296xf32>
         -> tensor<4294967296x4294967296xf32>
  return %r : tensor<4294967296x4294967296xf32>
}

// -----

// Small block, but the product of the batch dims overflows.
func.func @huge_token_count(%x: tensor<4294967296x4294967296x8xf32>, %w: tensor<32x8xf32>,
                            %wd: tensor<8x16xf32>) -> tensor<4294967296x4294967296x8xf32> {
  // expected-remark @+1 {{glu.ffn silu: d_model=8 d_ff=16 d_out=8; sizes overflow 64-bit integers, not reported}}
  %r = glu.ffn silu %x : tensor<4294967296x4294967296x8xf32> gate_up %w : tensor<32x8xf32>
         down %wd : tensor<8x16xf32> -> tensor<4294967296x4294967296x8xf32>
  return %r : tensor<4294967296x4294967296x8xf32>
}

// -----

// d_model 2^62: 8·d_model (the LLaMA width rule) and 4·d_model² overflow.
func.func @huge_d_model(%x: tensor<1x4611686018427387904xf32>, %w1: tensor<1x4611686018427387904xf32>,
                        %w2: tensor<1x1xf32>) -> tensor<1x1xf32> {
  // expected-remark @+1 {{glu.mlp relu: d_model=4611686018427387904 d_ff=1 d_out=1; sizes overflow 64-bit integers, not reported}}
  %r = glu.mlp relu %x : tensor<1x4611686018427387904xf32> up %w1 : tensor<1x4611686018427387904xf32>
         down %w2 : tensor<1x1xf32> -> tensor<1x1xf32>
  return %r : tensor<1x1xf32>
}

// -----

// Large sizes that do fit are still reported exactly.
func.func @large_but_fits(%x: tensor<1048576x65536xbf16>, %w: tensor<524288x65536xbf16>,
                          %wd: tensor<65536x262144xbf16>) -> tensor<1048576x65536xbf16> {
  // expected-remark @+1 {{glu.ffn silu: d_model=65536 d_ff=262144 d_out=65536 tokens=1048576; params=51539607552 weight_bytes=103079215104 flops_per_token=103079215104}}
  %r = glu.ffn silu %x : tensor<1048576x65536xbf16> gate_up %w : tensor<524288x65536xbf16>
         down %wd : tensor<65536x262144xbf16> -> tensor<1048576x65536xbf16>
  return %r : tensor<1048576x65536xbf16>
}
