// RUN: swiglu-opt %s --glu-report --split-input-file --verify-diagnostics -o /dev/null
// RUN: swiglu-opt %s --glu-report="multiple-of=1024 ffn-dim-multiplier=1.3" --split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=LLAMA3

// LLaMA-2 7B: d_ff 11008 is the 8/3 rule with multiple_of 256; 16 tokens of
// bf16. Unfused the gate, up and hidden live in f32 (3·11008·4 B a token);
// fused into the projection only the bf16 hidden remains (11008·2 B); the
// whole fused block keeps one 16x256 f32 tile.
func.func @llama2_7b(%x: tensor<16x4096xbf16>, %wg: tensor<11008x4096xbf16>, %wu: tensor<11008x4096xbf16>,
                     %wd: tensor<4096x11008xbf16>) -> tensor<16x4096xbf16> {
  // expected-remark @+1 {{glu.ffn silu: d_model=4096 d_ff=11008 d_out=4096 tokens=16; params=135266304 weight_bytes=270532608 flops_per_token=270532608; intermediate_bytes_per_token: unfused=132096 activation_fused=22016 block_fused=0 (one 64x256 tile, 65536 bytes); intermediate_bytes: unfused=2113536 activation_fused=352256 block_fused=16384; width: d_ff/d_model=2.6875, 8/3 rule (multiple_of=256, ffn_dim_multiplier=1.00) gives 11008 (matches); params/(4·d_model FFN)=1.0078}}
  %y = glu.ffn silu %x : tensor<16x4096xbf16> gate %wg : tensor<11008x4096xbf16> up %wu : tensor<11008x4096xbf16>
         down %wd : tensor<4096x11008xbf16> -> tensor<16x4096xbf16>
  return %y : tensor<16x4096xbf16>
}
// LLAMA3: 8/3 rule (multiple_of=1024, ffn_dim_multiplier=1.30) gives 14336 (differs)

// -----

// LLaMA-3 8B's width under the default rule; dynamic tokens report per token.
// LLAMA3: d_model=4096 d_ff=14336 {{.*}} tokens=?
// LLAMA3-SAME: gives 14336 (matches)
func.func @llama3_8b(%x: tensor<?x4096xbf16>, %w: tensor<28672x4096xbf16>,
                     %wd: tensor<4096x14336xbf16>) -> tensor<?x4096xbf16> {
  // expected-remark @+1 {{glu.ffn silu: d_model=4096 d_ff=14336 d_out=4096 tokens=?; params=176160768 weight_bytes=352321536 flops_per_token=352321536; intermediate_bytes_per_token: unfused=172032 activation_fused=28672 block_fused=0 (one 64x256 tile, 65536 bytes); width: d_ff/d_model=3.5000, 8/3 rule (multiple_of=256, ffn_dim_multiplier=1.00) gives 11008 (differs); params/(4·d_model FFN)=1.3125}}
  %y = glu.ffn silu %x : tensor<?x4096xbf16> gate_up %w : tensor<28672x4096xbf16>
         down %wd : tensor<4096x14336xbf16> -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// -----

// The classic GELU FFN of width 4·d_model: parity 1.0 by definition; biases
// count as parameters.
func.func @gpt2(%x: tensor<?x768xf32>, %w1: tensor<3072x768xf32>, %b1: tensor<3072xf32>,
                %w2: tensor<768x3072xf32>, %b2: tensor<768xf32>) -> tensor<?x768xf32> {
  // expected-remark @+1 {{glu.mlp gelu_tanh: d_model=768 d_ff=3072 d_out=768 tokens=?; params=4722432 weight_bytes=18889728 flops_per_token=9437184; intermediate_bytes_per_token: unfused=24576 activation_fused=12288 block_fused=0 (one 64x256 tile, 65536 bytes); width: d_ff/d_model=4.0000, 8/3 rule (multiple_of=256, ffn_dim_multiplier=1.00) gives 2048 (differs); params/(4·d_model FFN)=1.0000}}
  %y = glu.mlp gelu_tanh %x : tensor<?x768xf32> up %w1 : tensor<3072x768xf32> down %w2 : tensor<768x3072xf32>
         up_bias %b1 : tensor<3072xf32> down_bias %b2 : tensor<768xf32> -> tensor<?x768xf32>
  return %y : tensor<?x768xf32>
}

// -----

// Dynamic feature sizes: nothing to report but that.
func.func @dynamic_weights(%x: tensor<?x?xf32>, %w: tensor<?x?xf32>) -> tensor<?x?xf32> {
  // expected-remark @+1 {{glu.gate_up relu: d_model, d_ff or d_out is dynamic; no sizes to report}}
  %h = glu.gate_up relu %x : tensor<?x?xf32> gate_up %w : tensor<?x?xf32> -> tensor<?x?xf32>
  return %h : tensor<?x?xf32>
}

// -----

// negative_: upstream ops and glu.gate are not blocks: no remark (the
// -verify-diagnostics run fails on any unexpected remark).
func.func @negative_not_a_block(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %m = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  %g = glu.gate silu %m, %m : tensor<4x16xf32>
  return %g : tensor<4x16xf32>
}
