defmodule Myelin.SafetensorsTest do
  use ExUnit.Case, async: true

  import Myelin.IOHelpers, only: [tmp_dir: 1]

  alias Myelin.{Safetensors, Tensor}

  doctest Myelin.Safetensors

  setup :tmp_dir

  # Tensors of every type, built from raw bits so that NaN payloads,
  # signed zeros and integer extremes are exercised.
  defp every_type do
    %{
      "u8" => Tensor.from_binary(<<0, 1, 255>>, :u8),
      "u16" => Tensor.from_binary(<<0::native-16, 65535::native-16>>, :u16),
      "u32" => Tensor.from_binary(<<7::native-32, 0xFFFFFFFF::native-32>>, :u32, shape: {1, 2}),
      "u64" => Tensor.tensor([0, 0xFFFFFFFFFFFFFFFF], type: :u64),
      "s8" => Tensor.tensor([-128, 127], type: :s8),
      "s16" => Tensor.tensor([-32768, 32767], type: :s16),
      "s32" => Tensor.tensor([-2_147_483_648, 2_147_483_647], type: :s32),
      "s64" => Tensor.tensor([[-9_223_372_036_854_775_808], [9_223_372_036_854_775_807]]),
      "f16" =>
        Tensor.from_binary(<<0x7E01::native-16, 0xFC00::native-16, 0x8000::native-16>>, :f16),
      "bf16" => Tensor.from_binary(<<0xFFC1::native-16, 0x7F7F::native-16, 1::native-16>>, :bf16),
      "f32" =>
        Tensor.from_binary(
          <<0x7FC00123::native-32, 0x80000000::native-32, 0x7F800000::native-32, 1::native-32>>,
          :f32,
          shape: {2, 2}
        ),
      "f64" => Tensor.from_binary(<<0xFFF8000000000ABC::native-64, 1::native-64>>, :f64),
      "scalar" => Tensor.tensor(2.5, type: :f64),
      "empty" => Tensor.from_binary(<<>>, :f32, shape: {0, 3}),
      "empty_u8" => Tensor.from_binary(<<>>, :u8, shape: {0})
    }
  end

  defp contents(tensors),
    do: Map.new(tensors, fn {k, t} -> {k, {t.type, t.shape, Tensor.to_binary(t)}} end)

  test "every type round-trips bit for bit, with metadata", %{tmp_dir: dir} do
    path = Path.join(dir, "all.safetensors")
    metadata = %{"format" => "pt", "note" => "ünïcode \"quoted\"\n", "" => ""}
    assert :ok = Safetensors.save!(path, every_type(), metadata)
    {tensors, meta} = Safetensors.load!(path)
    assert contents(tensors) == contents(every_type())
    assert meta == metadata
    assert contents(Safetensors.load_tensors!(path)) == contents(every_type())
  end

  test "no tensors, charlist paths, and replacing a file", %{tmp_dir: dir} do
    path = Path.join(dir, "x.safetensors")
    assert :ok = Safetensors.save!(to_charlist(path), %{})
    assert Safetensors.load!(to_charlist(path)) == {%{}, %{}}
    :ok = Safetensors.save!(path, %{"a" => Tensor.tensor([1, 2])})
    assert Map.keys(Safetensors.load_tensors!(path)) == ["a"]
    assert File.ls!(dir) == ["x.safetensors"]
  end

  test "a large tensor round-trips", %{tmp_dir: dir} do
    path = Path.join(dir, "big.safetensors")
    t = Tensor.iota({1024, 1024}, type: :f32)
    :ok = Safetensors.save!(path, %{"w" => t})
    assert File.stat!(path).size > 4 * 1024 * 1024
    assert Tensor.to_binary(Safetensors.load_tensors!(path)["w"]) == Tensor.to_binary(t)
  end

  test "concurrent saves to one path leave one whole file and no temporary files", %{tmp_dir: dir} do
    path = Path.join(dir, "race.safetensors")

    1..8
    |> Task.async_stream(fn i ->
      Safetensors.save!(path, %{"t#{i}" => Tensor.iota({1000}, type: :s32)})
    end)
    |> Enum.each(fn {:ok, :ok} -> :ok end)

    assert [name] = path |> Safetensors.load_tensors!() |> Map.keys()
    assert name =~ ~r/^t[1-8]$/
    assert File.ls!(dir) == ["race.safetensors"]
  end

  test "BOOL tensors written elsewhere load as u8", %{tmp_dir: dir} do
    path = Path.join(dir, "bool.safetensors")
    header = ~s({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})
    File.write!(path, [<<byte_size(header)::little-64>>, header, <<1, 0, 1>>])
    assert %{"m" => m} = Safetensors.load_tensors!(path)
    assert m.type == {:u, 8}
    assert Tensor.to_list(m) == [1, 0, 1]
  end

  describe "errors" do
    test "bad arguments to save!", %{tmp_dir: dir} do
      path = Path.join(dir, "x.safetensors")
      t = Tensor.tensor(1)

      for {tensors, metadata, message} <- [
            {%{a: t}, %{}, "expected tensor names to be strings, got :a"},
            {%{<<255>> => t}, %{}, "tensor names must be UTF-8 strings, got <<255>>"},
            {%{"a" => 1}, %{}, ~s(expected a Myelin.Tensor for "a", got 1)},
            {[{"a", t}], %{}, "expected a map of names to tensors"},
            {t, %{}, "expected a map of names to tensors"},
            {%{}, %{"k" => 1}, ~s(metadata must map strings to strings, got {"k", 1})},
            {%{}, %{"k" => <<255>>}, "metadata must be UTF-8 strings"},
            {%{}, [k: "v"], "expected metadata as a map of strings to strings"},
            {%{"" => t}, %{}, ~s(tensor name "" is not allowed)},
            {%{"__metadata__" => t}, %{}, ~s(tensor name "__metadata__" is not allowed)}
          ] do
        error = assert_raise ArgumentError, fn -> Safetensors.save!(path, tensors, metadata) end
        assert error.message =~ "Myelin.Safetensors.save!: "
        assert error.message =~ message
      end

      assert_raise ArgumentError,
                   ~r/save!: expected a path \(a string or charlist\), got 42/,
                   fn ->
                     Safetensors.save!(42, %{})
                   end

      refute File.exists?(path)
    end

    test "a directory that does not exist", %{tmp_dir: dir} do
      path = Path.join([dir, "missing", "x.safetensors"])

      assert_raise ArgumentError,
                   ~r/^Myelin.Safetensors.save!: .*missing\/x.safetensors: cannot create/,
                   fn ->
                     Safetensors.save!(path, %{})
                   end
    end

    test "missing and corrupt files name the file and the problem", %{tmp_dir: dir} do
      path = Path.join(dir, "bad.safetensors")

      assert_raise ArgumentError,
                   "Myelin.Safetensors.load!: #{path}: cannot open: No such file or directory (os error 2)",
                   fn ->
                     Safetensors.load!(path)
                   end

      File.write!(path, "not a safetensors file at all")

      assert_raise ArgumentError,
                   ~r/^Myelin.Safetensors.load_tensors!: #{Regex.escape(path)}: header length \d+ exceeds/,
                   fn ->
                     Safetensors.load_tensors!(path)
                   end

      :ok = Safetensors.save!(path, %{"w" => Tensor.iota({10})})
      File.write!(path, binary_part(File.read!(path), 0, File.stat!(path).size - 1))

      assert_raise ArgumentError,
                   ~r/#{Regex.escape(path)}: tensor "w": data_offsets \[0, 80\] run past the end/,
                   fn ->
                     Safetensors.load!(path)
                   end

      assert_raise ArgumentError, ~r/load!: #{Regex.escape(dir)}: is a directory/, fn ->
        Safetensors.load!(dir)
      end
    end
  end
end
