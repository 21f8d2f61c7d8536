"""PyTorch integration internals, shared by the module front end
(`swiglu.torch_frontend`) and the Dynamo backend (`swiglu.torch_backend`):

* `activations`: recognizing an activation by what it computes;
* `kernel`: a compiled block called on torch tensors (compile cache,
  packing and repacking, dispatch to PyTorch where it is faster);
* `match`: recognizing MLP modules (naming, formula);
* `module`: the compiled module (`CompiledMLP`) and `compile_mlps`;
* `fx`: finding FFN blocks in an FX graph.
"""
