defmodule Myelin.VmSafetyTest do
  # The VM is sacred: internal failures become exceptions, the process and
  # its data survive, and memory is returned when tensors are collected.
  use ExUnit.Case, async: false
  alias Myelin.Tensor, as: T

  test "a panic inside a NIF raises Myelin.Error and the VM lives on" do
    kept = T.iota({3})

    assert_raise Myelin.Error,
                 ~r/debug_fault: internal error \(caught panic: deliberate panic/,
                 fn ->
                   Myelin.Native.debug_fault(:panic) |> Myelin.Native.unwrap!()
                 end

    assert_raise Myelin.Error, "debug_fault: deliberate internal error", fn ->
      Myelin.Native.debug_fault(:internal) |> Myelin.Native.unwrap!()
    end

    # The engine still works, and data created before the fault is intact.
    assert T.to_flat_list(kept) == [0, 1, 2]
    assert T.to_flat_list(T.negate(kept)) == [0, -1, -2]
  end

  test "a bad argument raises ArgumentError and leaves its inputs intact" do
    t = T.tensor([1.5, 2.5])

    assert_raise ArgumentError,
                 ~r/bitwise_not: expected a tensor of integer type, got \{:f, 32\}/,
                 fn ->
                   T.bitwise_not(t)
                 end

    assert T.to_flat_list(t) == [1.5, 2.5]
  end

  test "large ops on dirty schedulers give the same results as small ones" do
    small = T.iota({1000}, type: :f32) |> T.sin() |> T.to_flat_list()
    large = T.iota({100_000}, type: :f32) |> T.sin() |> T.to_flat_list() |> Enum.take(1000)
    assert small == large
  end

  @tag :memory
  @tag timeout: 120_000
  test "memory is released when tensors are garbage-collected (12.8 GB allocated in a loop)" do
    baseline = rss_mb()

    peak =
      Enum.reduce(1..100, 0, fn _, peak ->
        # 64 MiB in, 64 MiB out, both dropped at the end of the iteration.
        t = T.zeros({16_777_216})
        _ = T.exp(t)
        max(peak, rss_mb())
      end)

    assert peak - baseline < 1024,
           "RSS grew by #{peak - baseline} MB while allocating and dropping 12.8 GB of tensors"
  end

  defp rss_mb do
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(fn
      "VmRSS:" <> rest -> rest |> String.split() |> hd() |> String.to_integer() |> div(1024)
      _ -> nil
    end)
  end
end
