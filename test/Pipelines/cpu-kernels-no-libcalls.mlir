// The kernels call no libm function, for any activation, in f32 and bf16,
// on any x86 CPU with FMA: the polynomial exp/tanh/erf are inline vector
// code and their fmas are vfmadd instructions (convert-math-to-libm used to
// run before convert-math-to-llvm and turned every vector math.fma into 16
// calls of libc's fmaf, each behind a vzeroupper). bf16 conversions are
// inline too (no __truncsfbf2) where the CPU lacks AVX512_BF16.
// RUN: swiglu-compile %s --emit=obj -o %t.host.o
// RUN: llvm-nm -u %t.host.o | FileCheck %s
// RUN: swiglu-compile %s --emit=obj -o %t.v3.o --options=target-cpu=x86-64-v3
// RUN: llvm-nm -u %t.v3.o | FileCheck %s
// RUN: swiglu-compile %s --emit=obj -o %t.icx.o --options='target-cpu=icelake-server'
// RUN: llvm-nm -u %t.icx.o | FileCheck %s
// RUN: swiglu-compile %s --emit=obj -o %t.nobf16.o --options='target-features=-avx512bf16'
// RUN: llvm-nm -u %t.nobf16.o | FileCheck %s
// CHECK-NOT: {{U (fmaf?|expf?|exp2f?|tanhf?|erff?|floorf?|ceilf?|roundf?|logf?|powf?|__trunc.*|__extend.*)$}}
// CHECK: U malloc
// CHECK-NOT: {{U (fmaf?|expf?|exp2f?|tanhf?|erff?|floorf?|ceilf?|roundf?|logf?|powf?|__trunc.*|__extend.*)$}}

func.func @ffn_sigmoid_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn sigmoid %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_sigmoid_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn sigmoid %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
func.func @mlp_sigmoid(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  %y = glu.mlp sigmoid %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_identity_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn identity %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_identity_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn identity %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
func.func @mlp_identity(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  %y = glu.mlp identity %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_relu_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn relu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_relu_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn relu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
func.func @mlp_relu(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  %y = glu.mlp relu %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_gelu_erf_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn gelu_erf %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_gelu_erf_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn gelu_erf %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
func.func @mlp_gelu_erf(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  %y = glu.mlp gelu_erf %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_gelu_tanh_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn gelu_tanh %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_gelu_tanh_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn gelu_tanh %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
func.func @mlp_gelu_tanh(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  %y = glu.mlp gelu_tanh %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_silu_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_silu_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
func.func @mlp_silu(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  %y = glu.mlp silu %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_swish_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn swish %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> {beta = 1.5 : f32} -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_swish_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn swish %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> {beta = 1.5 : f32} -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
func.func @mlp_swish(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  %y = glu.mlp swish %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> {beta = 1.5 : f32} -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_clamped_swiglu_f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn clamped_swiglu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @ffn_clamped_swiglu_bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn clamped_swiglu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16> up %wu : tensor<96x64xbf16>
         down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
