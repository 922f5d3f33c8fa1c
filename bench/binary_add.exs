# Elementwise add on 2^24 f32 elements against a plain copy of one operand
# (bitcast copies the bytes: a memcpy), to check the same-shape fast path
# runs near memory bandwidth. Run with: mix run bench/binary_add.exs
import Bitwise
alias Myelin.Tensor, as: T

n = 1 <<< 24
a = T.random_uniform({n}, seed: 1)
b = T.random_uniform({n}, seed: 2)

time = fn f ->
  f.()
  runs = for _ <- 1..10, do: elem(:timer.tc(f), 0)
  Enum.min(runs) / 1000
end

copy = time.(fn -> T.bitcast(a, :u32) end)
add = time.(fn -> T.add(a, b) end)
bcast = time.(fn -> T.add(a, 1.0) end)

IO.puts("copy (memcpy) of #{n} f32: #{Float.round(copy, 2)} ms")

IO.puts(
  "add, same shapes:        #{Float.round(add, 2)} ms (#{Float.round(add / copy, 2)}x copy)"
)

IO.puts(
  "add, tensor + scalar:    #{Float.round(bcast, 2)} ms (#{Float.round(bcast / copy, 2)}x copy)"
)
