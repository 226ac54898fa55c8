;; native_recursion.wat - unbounded recursion that uses no linear memory, so
;; only the native stack can run out: it must end in a clean trap.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $down (param $n i32) (result i32)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local.set $a (i64.extend_i32_u (local.get $n)))
    (local.set $b (i64.mul (local.get $a) (i64.const 3)))
    (local.set $c (i64.add (local.get $b) (local.get $a)))
    (local.set $d (i64.xor (local.get $c) (local.get $b)))
    ;; a division of the callee's result: no compiler can turn this into a loop
    (i32.div_u
      (call $down (i32.add (local.get $n) (i32.const 1)))
      (i32.or (i32.wrap_i64 (i64.add (local.get $d) (local.get $a))) (i32.const 1))))
  (func (export "_start")
    (drop (call $down (i32.const 0)))
    (call $exit (i32.const 0))))
