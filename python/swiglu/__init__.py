"""Python helpers of the swiglu project.

`swiglu.reference` is an independent numpy reference of the `glu` dialect's
semantics (written from the formulas in GLUOps.td, not from the compiler's
lowering), used by the execution tests under test/Execution.
"""
