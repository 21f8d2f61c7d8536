// A LLaMA-style SwiGLU block (d_model 1024, d_ff 2816, tokens dynamic) to
// run tensor-parallel on MPI ranks: docs/distributed.md.
//   swiglu-opt ffn.mlir --glu-shard=ranks=2          (split for 2 ranks)
//   swiglu-compile ffn.mlir --options='shard-ranks=2 shard-weights=local'
func.func @ffn(%x: tensor<?x1024xf32>, %wg: tensor<2816x1024xf32>,
               %wu: tensor<2816x1024xf32>, %wd: tensor<1024x2816xf32>)
    -> tensor<?x1024xf32> {
  %y = glu.ffn silu %x : tensor<?x1024xf32>
         gate %wg : tensor<2816x1024xf32> up %wu : tensor<2816x1024xf32>
         down %wd : tensor<1024x2816xf32> -> tensor<?x1024xf32>
  return %y : tensor<?x1024xf32>
}
