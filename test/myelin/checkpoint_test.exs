defmodule Myelin.CheckpointTest do
  use ExUnit.Case, async: true

  import Myelin.IOHelpers, only: [bits: 1, tmp_dir: 1]

  alias Myelin.{Checkpoint, Safetensors, Tensor}
  alias Myelin.Checkpoint.JSON

  doctest Myelin.Checkpoint

  setup :tmp_dir

  defp round_trip(term, dir) do
    path = Path.join(dir, "t.ckpt")
    assert :ok = Checkpoint.save(path, term)
    Checkpoint.load(path)
  end

  defp tensors do
    %{
      nan_payload: Tensor.from_binary(<<0x7FC00123::native-32, 0xFFC00000::native-32>>, :f32),
      f16: Tensor.from_binary(<<0x7E01::native-16, 0x8000::native-16, 0x3C00::native-16>>, :f16),
      bf16: Tensor.from_binary(<<0xFFC1::native-16, 0x0001::native-16>>, :bf16),
      s64: Tensor.tensor([-9_223_372_036_854_775_808, 9_223_372_036_854_775_807]),
      u64: Tensor.tensor([18_446_744_073_709_551_615], type: :u64),
      empty: Tensor.from_binary(<<>>, :f64, shape: {2, 0}),
      scalar: Tensor.tensor(-0.0, type: :f32),
      u8: Tensor.tensor([[0, 255]], type: :u8)
    }
  end

  test "a training state round-trips exactly", %{tmp_dir: dir} do
    state = %{
      step: 12,
      params: %{
        "dense_0" => %{kernel: Tensor.iota({2, 3}, type: :f32), bias: Tensor.tensor([0.5, -0.5])},
        "extremes" => tensors()
      },
      optimizer:
        {:adam, [beta1: 0.9, beta2: 0.999], %{mu: [Tensor.tensor(1.0), Tensor.tensor(2.0)]}},
      history: [
        1.5,
        :nan,
        :infinity,
        :neg_infinity,
        -0.0,
        0.0,
        5.0e-324,
        1.7976931348623157e308,
        0.1
      ],
      ints: [0, -1, 2 ** 64, -(2 ** 100), 9_223_372_036_854_775_807],
      strings: ["", "ünïcode ✓", "quote \" backslash \\ newline \n tab \t nul " <> <<0>>, "😀"],
      binary: <<255, 0, 128>>,
      flags: {nil, true, false, :some_atom, :"needs quotes!"},
      empty: {%{}, [], {}},
      keys: %{
        1 => :int,
        {:t, 2} => :tuple,
        "a" => :string,
        2.5 => :float,
        a: :atom,
        nil: :nil_key
      },
      struct: MapSet.new([1, 2, 3]),
      range: 1..10
    }

    assert bits(round_trip(state, dir)) == bits(state)
  end

  test "bare values round-trip", %{tmp_dir: dir} do
    for term <- [nil, 42, -0.0, "s", :a, [], {}, %{}, Tensor.tensor([1, 2]), [Tensor.tensor(3)]] do
      assert bits(round_trip(term, dir)) == bits(term)
    end
  end

  test "tensors are named by their path", %{tmp_dir: dir} do
    path = Path.join(dir, "names.ckpt")
    t = fn -> Tensor.tensor([1.0]) end

    term = %{
      params: %{"dense_0" => %{kernel: t.()}},
      layers: [t.(), {t.(), %{"w" => t.()}}],
      collide: %{"a.b" => t.(), "a" => %{"b" => t.()}, :w => t.(), "w" => t.()}
    }

    :ok = Checkpoint.save(path, term)
    names = path |> Safetensors.load_tensors!() |> Map.keys() |> Enum.sort()

    assert names ==
             Enum.sort([
               "params.dense_0.kernel",
               "layers.0",
               "layers.1.0",
               "layers.1.1.w",
               # Sorted keys: "a" => %{"b"} is named first, "a.b" takes the suffix;
               # atoms sort before strings, so :w is "w" and "w" is "w_2".
               "collide.a.b",
               "collide.a.b_2",
               "collide.w",
               "collide.w_2"
             ])

    assert bits(Checkpoint.load(path)) == bits(term)

    :ok = Checkpoint.save(path, Tensor.tensor(1))
    assert Map.keys(Safetensors.load_tensors!(path)) == ["tensor"]
  end

  test "a tensor stored twice is written once and loads as one tensor", %{tmp_dir: dir} do
    path = Path.join(dir, "tied.ckpt")
    w = Tensor.iota({3})
    :ok = Checkpoint.save(path, %{encoder: w, decoder: {w}})
    assert Map.keys(Safetensors.load_tensors!(path)) == ["decoder.0"]
    %{encoder: e, decoder: {d}} = Checkpoint.load(path)
    assert e.ref == d.ref
    assert Tensor.to_list(e) == [0, 1, 2]
  end

  test "the metadata holds the format version and the structure as JSON", %{tmp_dir: dir} do
    path = Path.join(dir, "meta.ckpt")
    :ok = Checkpoint.save(path, %{"w" => Tensor.tensor(1), n: {1, 2.0}})
    {_, metadata} = Safetensors.load!(path)
    assert metadata["myelin.format"] == "1"

    assert JSON.decode(metadata["myelin.structure"]) ==
             {:ok,
              %{
                "map" => [
                  [%{"atom" => "n"}, %{"tuple" => [1, 2.0]}],
                  ["w", %{"tensor" => "w"}]
                ]
              }}
  end

  describe "save errors" do
    test "terms a checkpoint cannot hold name where they are", %{tmp_dir: dir} do
      path = Path.join(dir, "x.ckpt")

      for {term, message} <- [
            {%{a: [1, self()]}, "cannot store #{inspect(self())} at a.1"},
            {%{f: {fn -> 1 end}}, "cannot store #Function"},
            {[make_ref()], "at 0;"},
            {self(), "at the top level"},
            {%{l: [1 | 2]}, "cannot store an improper list (tail 2) at l"},
            {%{b: <<1::3>>}, "cannot store <<1::size(3)>> at b"},
            {%{Tensor.tensor(1) => 1}, "a tensor cannot be a map key"},
            {%{k: %{{[Tensor.tensor(1)]} => 1}},
             "a tensor cannot be a map key (in key {[#Myelin.Tensor"}
          ] do
        error = assert_raise ArgumentError, fn -> Checkpoint.save(path, term) end
        assert error.message =~ "Myelin.Checkpoint.save: "
        assert error.message =~ message
      end

      refute File.exists?(path)
    end

    test "an unwritable path names the file", %{tmp_dir: dir} do
      path = Path.join([dir, "no", "x.ckpt"])

      assert_raise ArgumentError, ~r/^Myelin.Checkpoint.save: .*no\/x.ckpt: cannot create/, fn ->
        Checkpoint.save(path, %{})
      end
    end
  end

  describe "load errors name the file" do
    defp assert_load_error(path, message) do
      error = assert_raise ArgumentError, fn -> Checkpoint.load(path) end
      assert String.starts_with?(error.message, "Myelin.Checkpoint.load: #{path}: ")
      assert error.message =~ message
    end

    defp write(dir, tensors, metadata) do
      path = Path.join(dir, "bad.ckpt")
      :ok = Safetensors.save!(path, tensors, metadata)
      path
    end

    defp structure(dir, json, tensors),
      do: write(dir, tensors, %{"myelin.format" => "1", "myelin.structure" => json})

    test "missing, truncated and foreign files", %{tmp_dir: dir} do
      missing = Path.join(dir, "missing.ckpt")
      assert_load_error(missing, "cannot open: No such file or directory")

      path = Path.join(dir, "cut.ckpt")
      :ok = Checkpoint.save(path, %{w: Tensor.iota({100})})
      File.write!(path, binary_part(File.read!(path), 0, 100))
      assert_load_error(path, "exceeds the 92 bytes that follow it")

      assert_load_error(
        write(dir, %{"w" => Tensor.tensor(1)}, %{}),
        ~s(is not a Myelin checkpoint (no "myelin.format" metadata\); read plain safetensors files with Myelin.Safetensors.load!/1)
      )

      assert_load_error(
        write(dir, %{}, %{"myelin.format" => "2"}),
        ~s(is format version "2"; this Myelin reads version "1")
      )

      assert_load_error(
        write(dir, %{}, %{"myelin.format" => "1"}),
        ~s(has no "myelin.structure" metadata)
      )
    end

    test "a corrupt structure", %{tmp_dir: dir} do
      t = %{"w" => Tensor.tensor(1)}

      for {json, tensors, message} <- [
            {~s({"map": [}), %{},
             "myelin.structure is not valid JSON (unexpected character at byte 9)"},
            {~s([1] 2), %{}, "unexpected text after the value at byte 4"},
            {~s({"tensor": "v"}), t,
             ~s(the structure refers to tensor "v", which the file does not hold)},
            {~s([]), t, ~s(the structure does not mention the tensors ["w"])},
            {~s({"set": []}), %{}, ~s(unknown node in the structure: %{"set" => []})},
            {~s({"atom": "a", "tuple": []}), %{}, "unknown node in the structure"},
            {~s({"binary": "!!"}), %{}, ~s(bad base64 in the structure: "!!")},
            {~s({"map": [[1]]}), %{},
             "bad map entry in the structure: [1], expected [key, value]"},
            {~s({"map": [[1, 2], [1, 3]]}), %{}, "a map in the structure has a key twice"}
          ] do
        assert_load_error(structure(dir, json, tensors), message)
      end
    end
  end

  describe "JSON" do
    test "encodes and decodes the structure's values" do
      values = [
        nil,
        true,
        false,
        0,
        -12,
        2 ** 200,
        0.1,
        -0.0,
        1.0e-7,
        1.0e300,
        5.0e-324,
        "plain",
        "esc \" \\ / \b \f \n \r \t \u0001 \u001f",
        "ünïcode 😀",
        [],
        [1, [2, [3]]],
        %{},
        %{"a" => [1, %{"b" => nil}], "" => ""}
      ]

      for v <- values do
        json = IO.iodata_to_binary(JSON.encode(v))
        assert bits(JSON.decode(json)) == bits({:ok, v}), "#{inspect(v)} via #{json}"
      end

      assert IO.iodata_to_binary(JSON.encode(%{"b" => 1, "a" => [1.0, "x\n"]})) ==
               ~s({"a":[1.0,"x\\n"],"b":1})
    end

    test "floats survive bit for bit" do
      :rand.seed(:exsss, {1, 2, 3})

      for _ <- 1..2000 do
        <<x::float-64>> = <<:rand.uniform(0x7FEFFFFFFFFFFFFF)::64>>
        x = if :rand.uniform(2) == 1, do: x, else: -x
        assert JSON.decode(IO.iodata_to_binary(JSON.encode(x))) == {:ok, x}
      end
    end

    test "reads JSON written by others" do
      assert JSON.decode(~s( { "a" : [ 1e2 , 1E-2, -0, 2.5e+1, "\\u00e9\\ud83d\\ude00" ] } \n)) ==
               {:ok, %{"a" => [100.0, 0.01, 0, 25.0, "é😀"]}}
    end

    test "rejects malformed JSON with the position" do
      for {json, message} <- [
            {"", "unexpected end of input at byte 0"},
            {"[1,]", "unexpected character at byte 3"},
            {"[1 2]", "expected , or ] in a list at byte 3"},
            {~s({"a" 1}), "expected : after an object key at byte 5"},
            {~s({"a":1 "b":2}), "expected , or } in an object at byte 7"},
            {~s({1:2}), "expected a string key in an object at byte 1"},
            {~s({"a":1,"a":2}), ~s(key "a" appears twice in an object)},
            {~s("abc), "unterminated string"},
            {~s("a\x01"), "control character in a string at byte 2"},
            {~s("\\x"), "bad escape in a string at byte 2"},
            {~s("\\u12"), "bad \\u escape at byte 3"},
            {~s("\\u+123"), "bad \\u escape at byte 3"},
            {~s("\\ud800"), "unpaired surrogate"},
            {~s("\\udc00"), "unpaired surrogate"},
            {~s("\\ud800\\u0041"), "unpaired surrogate"},
            {<<?", 255, ?">>, "invalid UTF-8 in a string at byte 1"},
            {"01", "unexpected text after the value at byte 1"},
            {"1e999", "number 1e999 is out of range at byte 0"},
            {"-", "bad number at byte 0"},
            {"nul", "unexpected character at byte 0"}
          ] do
        assert {:error, reason} = JSON.decode(json)
        assert reason =~ message, "#{inspect(json)}: #{reason}"
      end
    end
  end
end
