// RUN: swiglu-opt %s --convert-glu-to-gpu --split-input-file -verify-diagnostics | FileCheck %s
// RUN: swiglu-opt %s --convert-glu-to-gpu="decode-tokens=0 tensor-cores=false" --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=NODECODE
// RUN: swiglu-opt %s --convert-glu-to-gpu="round-hidden=true" --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=ROUND
// RUN: swiglu-opt %s --convert-glu-to-gpu="mma-stages=4 mma-tile-m=128 mma-tile-n=128" --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=S4
// RUN: swiglu-opt %s --convert-glu-to-gpu="mma-stages=2 mma-tile-m=128" --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=S2

// glu.ffn, bf16, out_in: host code picks the decode or the tensor-core
// kernel by token count; the hidden is an f32 temporary; the down
// projection reads it as hi + lo bf16 terms on tensor cores.

// CHECK: module attributes {glu.gpu.entries = {ffn = "{
// CHECK-SAME: \22kernel\22:\22ffn_gate_up_decode1\22,\22kind\22:\22decode\22,\22tokens\22:[0,1]
// CHECK-SAME: \22kernel\22:\22ffn_gate_up_decode\22,\22kind\22:\22decode\22,\22tokens\22:[2,8]
// CHECK-SAME: \22kernel\22:\22ffn_gate_up_mma\22,\22kind\22:\22mma\22,\22tokens\22:[9,-1]
// CHECK-SAME: \22dynamic_shared_bytes\22:46080
// CHECK-SAME: gpu.container_module
// CHECK-LABEL: func.func @ffn(
// CHECK:         %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?xbf16>
// CHECK:         %[[HID:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:         scf.if
// CHECK:           gpu.launch_func @glu_kernels::@ffn_gate_up_decode1 {{.*}} threads in (%c256{{[_0-9]*}},
// CHECK:         } else {
// CHECK:           scf.if
// CHECK:             gpu.launch_func @glu_kernels::@ffn_gate_up_decode {{.*}} threads in (%c256{{[_0-9]*}},
// CHECK:           } else {
// CHECK:             gpu.launch_func @glu_kernels::@ffn_gate_up_mma {{.*}} threads in (%c128{{[_0-9]*}}, {{.*}} dynamic_shared_memory_size %c46080_i32
// CHECK:         gpu.launch_func @glu_kernels::@ffn_down_decode1
// CHECK:         gpu.launch_func @glu_kernels::@ffn_down_decode
// CHECK:         gpu.launch_func @glu_kernels::@ffn_down_mma
// CHECK:         memref.dealloc %[[HID]]
// CHECK:         bufferization.to_tensor %[[OUT]] restrict writable
// CHECK:         tensor.expand_shape

// The decode kernels (one for 1 token, one for up to 8): a warp per
// feature, 16-byte weight loads, gate and up accumulated together, a
// butterfly reduction, the gating before the store.
// CHECK-LABEL: gpu.func @ffn_gate_up_decode1(
// CHECK:         vector.load
// CHECK:         gpu.shuffle
// CHECK-LABEL: gpu.func @ffn_gate_up_decode(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index) kernel
// CHECK-SAME:    known_block_size = array<i32: 256, 1, 1>
// CHECK:         vector.load %{{.*}} {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK:         gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK:         gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK:         scf.if
// CHECK:           memref.store %{{.*}} : memref<?xf32>

// The tensor-core kernel: three shared stages (mma-stages) in dynamic
// shared memory, filled by cp.async: steps 0 and 1 in flight before the
// loop; step k waits for its own group only (1 newer pending), one
// barrier, issues step k + 2, multiplies; fragments by ldmatrix.x4 (bf16
// pairs used as registers by nvvm.mma.sync: m16n8k16, f32 accumulation).
// 3 stages x (x + gate + up tiles of 64 rows x 40) x 2 bytes = 46080.
// CHECK-LABEL: gpu.func @ffn_gate_up_mma(
// CHECK-NOT:     workgroup(
// CHECK:         %[[DYN:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:         %[[SMEM:.*]] = memref.view %[[DYN]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<23040xbf16, #gpu.address_space<workgroup>>
// CHECK:         nvgpu.device_async_copy %{{.*}}, %[[SMEM]][%{{.*}}], 8, %{{.*}} {bypassL1} : memref<?xbf16> to memref<23040xbf16, #gpu.address_space<workgroup>>
// CHECK:         nvgpu.device_async_create_group
// CHECK:         %[[SECOND:.*]] = nvgpu.device_async_create_group
// CHECK:         scf.for
// CHECK-NEXT:      nvgpu.device_async_wait %[[SECOND]] {numGroups = 1 : i32}
// CHECK-NEXT:      gpu.barrier
// CHECK:           nvgpu.device_async_copy
// CHECK:           nvgpu.device_async_create_group
// CHECK:           nvgpu.ldmatrix %[[SMEM]][%{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<23040xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK:           vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK:           nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK-NOT:       gpu.barrier
// CHECK:           scf.yield
// CHECK:         nvgpu.device_async_wait %[[SECOND]] {numGroups = 0 : i32}

// The down projection: the f32 hidden split into bf16 hi and lo tiles,
// two tensor-core products per tile.
// CHECK-LABEL: gpu.func @ffn_down_decode(
// CHECK-LABEL: gpu.func @ffn_down_mma(
// CHECK:         memref.view %{{.*}}[%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<23040xbf16, #gpu.address_space<workgroup>>
// CHECK:         %[[V:.*]] = arith.select %{{.*}} : f32
// CHECK:         %[[HI:.*]] = arith.truncf %[[V]] : f32 to bf16
// CHECK:         %[[HIX:.*]] = arith.extf %[[HI]] : bf16 to f32
// CHECK:         %[[R:.*]] = arith.subf %[[V]], %[[HIX]] : f32
// CHECK:         arith.truncf %[[R]] : f32 to bf16
// CHECK:         nvvm.mma.sync
// CHECK:         nvvm.mma.sync

// mma-stages=4 with 128x128 tiles: 8 warps; three steps in flight before
// the loop, two newer groups may be pending at a step's wait; 4 stages x
// (x + gate + up tiles of 128 rows x 40) x 2 bytes = 122880.
// S4:           gpu.launch_func @glu_kernels::@ffn_gate_up_mma blocks in ({{.*}}) threads in (%c256{{[_0-9]*}}, {{.*}} dynamic_shared_memory_size %c122880_i32
// S4-LABEL:     gpu.func @ffn_gate_up_mma(
// S4-SAME:        known_block_size = array<i32: 256, 1, 1>
// S4:           memref.view {{.*}} to memref<61440xbf16, #gpu.address_space<workgroup>>
// S4-COUNT-3:   nvgpu.device_async_create_group
// S4:           scf.for
// S4-NEXT:        nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// S4:             nvgpu.ldmatrix

// mma-stages=2 with 128x64 tiles: one step in flight before the loop,
// waited for completely; 2 x (128 + 2 x 64 rows x 40) x 2 bytes = 40960.
// S2:           gpu.launch_func @glu_kernels::@ffn_gate_up_mma blocks in ({{.*}}) threads in (%c256{{[_0-9]*}}, {{.*}} dynamic_shared_memory_size %c40960_i32
// S2-LABEL:     gpu.func @ffn_gate_up_mma(
// S2:           memref.view {{.*}} to memref<20480xbf16, #gpu.address_space<workgroup>>
// S2-COUNT-1:   nvgpu.device_async_create_group
// S2-NOT:       nvgpu.device_async_create_group
// S2:           scf.for
// S2-NEXT:        nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}

// Without decode kernels and tensor cores: one launch a step, simt.
// NODECODE-LABEL: func.func @ffn(
// NODECODE-NOT:     scf.if
// NODECODE:         gpu.launch_func @glu_kernels::@ffn_gate_up_simt
// NODECODE:         gpu.launch_func @glu_kernels::@ffn_down_simt

// round-hidden: a bf16 hidden, and tensor cores for the down projection.
// ROUND-LABEL: func.func @ffn(
// ROUND:         memref.alloc(%{{.*}}) : memref<?xbf16>
// ROUND:         gpu.launch_func @glu_kernels::@ffn_down_mma
func.func @ffn(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>,
               %wu: tensor<96x64xbf16>, %wd: tensor<64x96xbf16>)
    -> tensor<?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16>
         up %wu : tensor<96x64xbf16> down %wd : tensor<64x96xbf16>
         -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// glu.mlp, f16, in_out: the decode kernel is a thread per feature (no
// shuffles); the up projection runs on nvgpu.mma.sync, its weight tile
// stored [k][n] and read by ldmatrix.trans.

// CHECK-LABEL: gpu.func @mlp_up_decode1(
// CHECK-SAME:    known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT:     gpu.shuffle
// CHECK:         gpu.return
// CHECK-LABEL: gpu.func @mlp_up_decode(
// CHECK-SAME:    known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT:     gpu.shuffle
// CHECK:         gpu.return
// CHECK-LABEL: gpu.func @mlp_up_mma(
// CHECK:         nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = false} : {{.*}} -> vector<4x2xf16>
// CHECK:         nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = true} : {{.*}} -> vector<4x2xf16>
// CHECK:         nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
func.func @mlp(%x: tensor<3x7x40xf16>, %w1: tensor<40x72xf16>,
               %w2: tensor<72x40xf16>, %b1: tensor<72xf16>)
    -> tensor<3x7x40xf16> {
  %y = glu.mlp gelu_tanh %x : tensor<3x7x40xf16> up %w1 : tensor<40x72xf16>
         down %w2 : tensor<72x40xf16> up_bias %b1 : tensor<72xf16>
         layout in_out -> tensor<3x7x40xf16>
  return %y : tensor<3x7x40xf16>
}

// -----

// glu.gate_up, f32, interleaved: gate feature i is row 2i, up row 2i + 1;
// the launch record sizes d_ff as half the merged weight's rows.

// CHECK: glu.gpu.entries = {gu = "{
// CHECK-SAME: \22F\22:{\22arg\22:1,\22dims\22:[0],\22div\22:2}
// CHECK-LABEL: func.func @gu(
// CHECK:         gpu.launch_func @glu_kernels::@gu_gate_up_decode1
// CHECK:         gpu.launch_func @glu_kernels::@gu_gate_up_decode
// CHECK:         gpu.launch_func @glu_kernels::@gu_gate_up_simt
// CHECK-LABEL: gpu.func @gu_gate_up_simt(
// CHECK-SAME:    workgroup(%{{.*}} : memref<1040xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1040xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1040xf32, #gpu.address_space<workgroup>>)
func.func @gu(%x: tensor<?x32xf32>, %w: tensor<80x32xf32>) -> tensor<?x40xf32> {
  %h = glu.gate_up clamped_swiglu %x : tensor<?x32xf32> gate_up %w : tensor<80x32xf32>
         packing interleaved -> tensor<?x40xf32>
  return %h : tensor<?x40xf32>
}

// -----

// glu.gate: one elementwise kernel over all elements; the transcendental
// (erf) became a polynomial: no math ops (libdevice) are left.

// CHECK-LABEL: func.func @gate(
// CHECK:         gpu.launch_func @glu_kernels::@gate_gate blocks in (%{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{[_0-9]*}},
// CHECK-LABEL: gpu.func @gate_gate(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index) kernel
// CHECK-NOT:     math.
// CHECK:         gpu.return
func.func @gate(%g: tensor<2x?x33xbf16>, %u: tensor<2x?x33xbf16>) -> tensor<2x?x33xbf16> {
  %h = glu.gate gelu_erf %g, %u : tensor<2x?x33xbf16>
  return %h : tensor<2x?x33xbf16>
}

// -----

// A glu op that is not the whole function body still gets kernels and
// launches, but no launch record.

// CHECK-NOT: glu.gpu.entries
// CHECK-LABEL: func.func @negative_not_entry(
// CHECK:         gpu.launch_func @glu_kernels::@negative_not_entry_gate
// CHECK:         arith.addf
func.func @negative_not_entry(%g: tensor<8xf32>, %u: tensor<8xf32>) -> f32 {
  %h = glu.gate relu %g, %u : tensor<8xf32>
  %c0 = arith.constant 0 : index
  %e = tensor.extract %h[%c0] : tensor<8xf32>
  %s = arith.addf %e, %e : f32
  return %s : f32
}

// -----

func.func @negative_f64_transcendental(%g: tensor<8xf32>, %u: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error@+1 {{acc_type f64 with activation 'silu' is not supported (f64 transcendentals need libdevice)}}
  %h = glu.gate silu %g, %u {acc_type = f64} : tensor<8xf32>
  return %h : tensor<8xf32>
}
