defmodule Myelin.TensorUnaryTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T

  # Relative tolerance per type: one or two units in the last place. PyTorch
  # uses vectorised (SLEEF) maths and Myelin uses the platform's libm, so the
  # last bit may differ.
  @rtol %{"f64" => 1.0e-13, "f32" => 1.0e-6, "f16" => 2.0e-3, "bf16" => 1.6e-2}
  # Absolute tolerance: a few units of the smallest subnormal (erfc(10) in f32
  # is a subnormal whose last bit differs).
  @atol %{"f64" => 1.0e-300, "f32" => 1.0e-44, "f16" => 1.0e-7, "bf16" => 1.0e-40}

  @fixture Path.expand("../fixtures/unary_reference.txt", __DIR__)
  @external_resource @fixture

  for line <- File.read!(@fixture) |> String.split("\n", trim: true) do
    [op, type, inputs, outputs] = String.split(line, " ")

    test "#{op} on #{type} matches PyTorch" do
      op = String.to_existing_atom(unquote(op))
      type = String.to_atom(unquote(type))
      input = from_bits(unquote(inputs)) |> T.as_type(type)
      expected = from_bits(unquote(outputs)) |> T.to_flat_list()
      actual = apply(T, op, [input])

      assert T.type(actual) == T.Type.normalize!(type, :test)
      got = actual |> T.as_type(:f64) |> T.to_flat_list()
      {rtol, atol} = {@rtol[unquote(type)], @atol[unquote(type)]}

      for {g, e, x} <- Enum.zip([got, expected, T.to_flat_list(T.as_type(input, :f64))]) do
        assert close?(g, e, rtol, atol),
               "#{op}(#{inspect(x)}) on #{type}: got #{inspect(g)}, PyTorch #{inspect(e)}"
      end
    end
  end

  defp from_bits(text) do
    text
    |> String.split(",")
    |> Enum.map(&<<String.to_integer(&1)::64-native>>)
    |> IO.iodata_to_binary()
    |> T.from_binary(:f64)
  end

  defp close?(same, same, _rtol, _atol), do: true

  defp close?(a, b, rtol, atol) when is_float(a) and is_float(b),
    do: abs(a - b) <= rtol * abs(b) + atol

  defp close?(_, _, _, _), do: false

  describe "integer inputs" do
    test "floating maths on integers computes in f32" do
      assert T.type(T.exp(T.tensor([1, 2], type: :u8))) == {:f, 32}
      assert T.to_flat_list(T.sqrt(T.tensor([4, 9], type: :s16))) == [2.0, 3.0]
    end

    test "sign, abs and negate stay integer and wrap" do
      t = T.tensor([-128, -1, 0, 127], type: :s8)
      assert T.to_flat_list(T.abs(t)) == [-128, 1, 0, 127]
      assert T.to_flat_list(T.negate(t)) == [-128, 1, 0, -127]
      assert T.to_flat_list(T.sign(t)) == [-1, -1, 0, 1]
      assert T.to_flat_list(T.negate(T.tensor([1, 0], type: :u8))) == [255, 0]
      assert T.to_flat_list(T.sign(T.tensor([0, 7], type: :u32))) == [0, 1]
    end

    test "predicates return u8 for every family" do
      for type <- [:u8, :s64, :bf16, :f64] do
        r = T.is_nan(T.tensor([0, 1], type: type))
        assert {T.type(r), T.to_flat_list(r)} == {{:u, 8}, [0, 0]}
      end
    end

    test "bitwise_not on integers, and its error on floats" do
      assert T.to_flat_list(T.bitwise_not(T.tensor([0, 255], type: :u8))) == [255, 0]

      assert_raise ArgumentError,
                   "bitwise_not: expected a tensor of integer type, got {:bf, 16}",
                   fn ->
                     T.bitwise_not(T.tensor([1.0], type: :bf16))
                   end
    end
  end

  test "numbers are accepted where tensors are expected" do
    assert T.to_number(T.exp(0)) == 1.0

    assert_raise ArgumentError, ~r/expected a Myelin.Tensor or a number, got "x"/, fn ->
      T.exp("x")
    end
  end

  test "zero-sized and scalar tensors" do
    assert T.shape(T.exp(T.zeros({0, 3}))) == {0, 3}
    assert T.to_number(T.cos(T.tensor(0.0, type: :f64))) == 1.0
  end

  test "sign of NaN is NaN, as in Nx (PyTorch gives 0)" do
    assert T.to_flat_list(T.sign(T.tensor([:nan, -0.0]))) == [:nan, -0.0]
  end

  test "rounds halves away from zero" do
    assert T.to_flat_list(T.round(T.tensor([0.5, 1.5, -0.5, -2.5]))) == [1.0, 2.0, -1.0, -3.0]
  end
end
