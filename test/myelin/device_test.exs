defmodule Myelin.DeviceTest do
  # Devices and transfers. The tests without a tag run everywhere: on a
  # machine without CUDA they check that asking for a GPU fails clearly and
  # harms nothing. The :cuda tests need a GPU (test_helper.exs excludes them
  # with the reason when there is none) and check GPU results against the
  # CPU's.
  use ExUnit.Case, async: true

  alias Myelin.Tensor, as: T

  doctest Myelin.Device

  test "cuda_libraries/0 reports each library as a boolean" do
    libs = Myelin.Device.cuda_libraries()
    assert Enum.all?([:driver, :nvrtc, :cublas], &is_boolean(Map.fetch!(libs, &1)))
  end

  test "tensors start on the CPU and a transfer to :cpu is the identity" do
    t = T.tensor([[1, 2], [3, 4]], type: :f32)
    assert T.device(t) == :cpu
    assert T.backend_transfer(t, :cpu) == t
  end

  test "an unknown device is an ArgumentError naming the op and the accepted devices" do
    t = T.tensor([1.0])

    for bad <- [:tpu, {:cuda, -1}, {:cuda, 1.5}, "cuda", {:rocm, 0}] do
      message = assert_raise(ArgumentError, fn -> T.backend_transfer(t, bad) end).message
      assert message =~ "backend_transfer: expected a device :cpu, :cuda or {:cuda, ordinal}"
      assert message =~ inspect(bad)
    end
  end

  describe "without a usable GPU" do
    setup do
      if Myelin.Device.cuda_available?(), do: {:skip, "a GPU is present"}, else: :ok
    end

    test "asking for :cuda raises Myelin.Error saying what is missing, and the tensor survives" do
      t = T.tensor([1.0, 2.0, 3.0])

      for device <- [:cuda, {:cuda, 0}, {:cuda, 3}] do
        message = assert_raise(Myelin.Error, fn -> T.backend_transfer(t, device) end).message
        assert message =~ "backend_transfer: "
        assert message =~ ~r/CUDA is not available|no CUDA device/
      end

      assert T.to_flat_list(T.exp(t)) == T.to_flat_list(T.exp(T.tensor([1.0, 2.0, 3.0])))
      refute Myelin.Device.cuda_available?()
      assert is_binary(Myelin.Device.cuda_unavailable_reason())
      assert_raise Myelin.Error, ~r/cuda_devices: /, fn -> Myelin.Device.cuda_devices() end
    end
  end

  describe "on a GPU" do
    @describetag :cuda

    test "transfers round-trip every type and inspect names the device" do
      for type <- [:u8, :s16, :s32, :s64, :f16, :bf16, :f32, :f64] do
        t = T.iota({2, 3}, type: type)
        g = T.backend_transfer(t, :cuda)
        assert T.device(g) == {:cuda, 0}
        assert T.to_binary(g) == T.to_binary(t)
        assert T.to_flat_list(g) == T.to_flat_list(t)
        assert T.backend_transfer(g, :cpu) |> T.to_flat_list() == T.to_flat_list(t)
      end

      g = T.backend_transfer(T.tensor([1.5, 2.5]), :cuda)
      assert T.to_number(T.sum(g)) == 4.0
      assert inspect(g) =~ "f32[2] {:cuda, 0}"
      assert inspect(g) =~ "[1.5, 2.5]"
    end

    test "elementwise ops, reductions and dot agree with the CPU" do
      a = T.random_uniform({64, 33}, seed: 1)
      b = T.random_uniform({33}, seed: 2)
      {ga, gb} = {T.backend_transfer(a, :cuda), T.backend_transfer(b, :cuda)}

      checks = [
        {T.exp(a), T.exp(ga)},
        {T.add(a, b), T.add(ga, gb)},
        {T.multiply(a, 2.0), T.multiply(ga, 2.0)},
        {T.sum(a, axes: [1]), T.sum(ga, axes: [1])},
        {T.reduce_max(a), T.reduce_max(ga)},
        {T.dot(a, b), T.dot(ga, gb)},
        {T.as_type(a, :bf16), T.as_type(ga, :bf16)}
      ]

      for {cpu, gpu} <- checks do
        assert T.device(gpu) == {:cuda, 0}
        host = T.backend_transfer(gpu, :cpu)
        assert host.shape == cpu.shape and host.type == cpu.type

        for {x, y} <- Enum.zip(T.to_flat_list(cpu), T.to_flat_list(host)) do
          assert abs(x - y) <= 1.0e-4 * max(abs(x), 1.0)
        end
      end
    end

    test "an op without a GPU kernel names the device and says how to fix it" do
      g = T.backend_transfer(T.tensor([3.0, 1.0, 2.0]), :cuda)
      message = assert_raise(ArgumentError, fn -> T.sort(g) end).message
      assert message =~ "{:cuda, 0}"
      assert message =~ "backend_transfer(tensor, :cpu)"
    end
  end
end
