// A LLaMA-style SwiGLU feed-forward block, as one glu op.
//
//   out = (silu(x·Wgᵀ) ⊙ (x·Wuᵀ))·Wdᵀ
//
// Weights in PyTorch's nn.Linear layout ([out, in]): gate_proj and up_proj
// are [d_ff, d_model], down_proj is [d_model, d_ff]. The example uses a
// LLaMA-rule width sized for a small machine: d_model 1024 and
// d_ff = 256·⌈(8/3·1024)/256⌉ = 2816. Batch and sequence length are dynamic.
func.func @llama_ffn(%x: tensor<?x?x1024xf32>,
                     %gate_proj: tensor<2816x1024xf32>,
                     %up_proj: tensor<2816x1024xf32>,
                     %down_proj: tensor<1024x2816xf32>) -> tensor<?x?x1024xf32> {
  %out = glu.ffn silu %x : tensor<?x?x1024xf32>
           gate %gate_proj : tensor<2816x1024xf32>
           up %up_proj : tensor<2816x1024xf32>
           down %down_proj : tensor<1024x2816xf32>
           -> tensor<?x?x1024xf32>
  return %out : tensor<?x?x1024xf32>
}
