// Returning a strided slice of an argument: bufferization copies it with a
// memref.copy between non-contiguous buffers, which upstream lowers to a
// call of memrefCopy (libmlir_c_runner_utils); glu-strided-copies-to-loops
// makes it loops.
func.func @slice(%x: tensor<8x8xf32>) -> tensor<4x4xf32> {
  %s = tensor.extract_slice %x[1, 0] [4, 4] [2, 2] : tensor<8x8xf32> to tensor<4x4xf32>
  return %s : tensor<4x4xf32>
}
