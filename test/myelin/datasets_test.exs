defmodule Myelin.DatasetsTest do
  # Readers: IDX, MNIST, CSV. Batching, splitting and one_hot are in
  # datasets_batch_test.exs. Every file is written by the test itself into a
  # fresh directory under System.tmp_dir!/0.
  use ExUnit.Case, async: true
  doctest Myelin.Datasets

  alias Myelin.Datasets
  alias Myelin.Datasets.Error
  alias Myelin.Tensor, as: T

  @fashion "/usr/share/datasets/fashion-mnist"

  setup do
    dir =
      Path.join(
        System.tmp_dir!(),
        "myelin-datasets-#{System.pid()}-#{System.unique_integer([:positive])}"
      )

    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir}
  end

  ## IDX files built by hand

  @codes %{u8: 0x08, s8: 0x09, s16: 0x0B, s32: 0x0C, f32: 0x0D, f64: 0x0E}

  # The IDX bytes of `values` (a flat list) with `dims`, big-endian.
  defp idx(type, dims, values) do
    data =
      for v <- values, into: <<>> do
        case type do
          :u8 -> <<v::8>>
          :s8 -> <<v::signed-8>>
          :s16 -> <<v::signed-big-16>>
          :s32 -> <<v::signed-big-32>>
          :f32 -> <<v::float-big-32>>
          :f64 -> <<v::float-big-64>>
        end
      end

    header = for d <- dims, into: <<>>, do: <<d::big-32>>
    <<0, 0, Map.fetch!(@codes, type), length(dims)>> <> header <> data
  end

  defp round_f32(x) do
    <<y::float-32>> = <<x::float-32>>
    y
  end

  defp write!(dir, name, bytes) do
    path = Path.join(dir, name)
    File.write!(path, bytes)
    path
  end

  describe "read_idx/1" do
    test "reads every type code, raw and gzipped, into the file's type and shape", %{dir: dir} do
      cases = [
        u8: [0, 1, 127, 128, 254, 255],
        s8: [-128, -1, 0, 1, 100, 127],
        s16: [-32768, -300, -1, 0, 258, 32767],
        s32: [-2_147_483_648, -70000, -1, 0, 65536, 2_147_483_647],
        f32: [-1.5, 0.0, 0.25, 3.0e10, -7.0, 1.0e-3],
        f64: [-1.5, 0.0, 0.1, 1.0e300, -7.25, 2.0e-300]
      ]

      for {type, values} <- cases, gz <- [false, true] do
        bytes = idx(type, [2, 3], values)
        bytes = if gz, do: :zlib.gzip(bytes), else: bytes
        t = Datasets.read_idx(write!(dir, "#{type}-#{gz}", bytes))

        assert T.type(t) == T.Type.normalize!(type, :test)
        assert T.shape(t) == {2, 3}

        # f32 values come back rounded to single precision.
        expected = if type == :f32, do: Enum.map(values, &round_f32/1), else: values

        assert T.to_flat_list(t) == expected, "#{type} gz=#{gz}"
      end
    end

    test "detects gzip by its magic bytes, not by the file's name", %{dir: dir} do
      bytes = idx(:u8, [3], [7, 8, 9])
      assert T.to_list(Datasets.read_idx(write!(dir, "plain.gz", bytes))) == [7, 8, 9]

      assert T.to_list(Datasets.read_idx(write!(dir, "packed.idx", :zlib.gzip(bytes)))) == [
               7,
               8,
               9
             ]
    end

    test "reads rank 0 to 4, zero-sized dimensions and a charlist path", %{dir: dir} do
      assert T.to_list(Datasets.read_idx(write!(dir, "r0", idx(:s16, [], [-5])))) == -5
      t = Datasets.read_idx(write!(dir, "r4", idx(:u8, [1, 2, 1, 2], [1, 2, 3, 4])))
      assert T.to_list(t) == [[[[1, 2]], [[3, 4]]]]
      empty = Datasets.read_idx(write!(dir, "empty", idx(:f32, [0, 28, 28], [])))
      assert {T.shape(empty), T.type(empty)} == {{0, 28, 28}, {:f, 32}}
      path = write!(dir, "chars", idx(:u8, [1], [5]))
      assert T.to_list(Datasets.read_idx(String.to_charlist(path))) == [5]
    end

    test "swaps the bytes of a large multi-byte file correctly", %{dir: dir} do
      values = Enum.map(0..99_999, &(&1 * 40_503 - 2_000_000_000))
      t = Datasets.read_idx(write!(dir, "big", idx(:s32, [100, 1000], values)))
      assert T.shape(t) == {100, 1000}
      assert T.to_flat_list(t) == values
    end

    test "a missing file raises File.Error", %{dir: dir} do
      assert_raise File.Error, ~r/no such file/, fn ->
        Datasets.read_idx(Path.join(dir, "nope"))
      end
    end

    test "a path that is not a string raises ArgumentError" do
      assert_raise ArgumentError, "read_idx: expected a path (a string), got 42", fn ->
        Datasets.read_idx(42)
      end
    end

    test "malformed files raise Myelin.Datasets.Error naming the file and the problem",
         %{dir: dir} do
      good = idx(:s16, [2, 2], [1, 2, 3, 4])
      gz = :zlib.gzip(good)

      cases = [
        {"magic", <<8, 3, 0, 0>> <> good,
         ~r/bad magic number 0x08 0x03 0x00 0x00, expected 0x00 0x00/},
        {"short", <<0, 0, 8>>, ~r/bad magic number: the file has 3 bytes/},
        {"empty", <<>>, ~r/bad magic number: the file has 0 bytes/},
        {"code", <<0, 0, 0x0A, 1, 1::32, 0>>, ~r/unknown type code 0x0A, expected 0x08 \(u8\)/},
        {"header", <<0, 0, 8, 3, 1::32, 2::32>>,
         ~r/truncated header: 3 dimensions need 12 bytes after the magic number, the file has 8/},
        {"truncated", binary_part(good, 0, byte_size(good) - 1),
         ~r/truncated data: shape \{2, 2\} of \{:s, 16\} needs 8 bytes, the file has 7/},
        {"extra", good <> <<0, 0>>,
         ~r/size mismatch: shape \{2, 2\} of \{:s, 16\} needs 8 bytes, the file has 10 \(2 too many\)/},
        {"badgz", <<0x1F, 0x8B, 1, 2, 3, 4, 5, 6, 7, 8>>, ~r/bad gzip data/},
        {"cutgz", binary_part(gz, 0, byte_size(gz) - 6), ~r/bad gzip data/},
        {"gzbad", :zlib.gzip(<<1, 2, 3, 4, 5>>), ~r/bad magic number 0x01 0x02 0x03 0x04/}
      ]

      for {name, bytes, pattern} <- cases do
        path = write!(dir, name, bytes)
        error = assert_raise Error, fn -> Datasets.read_idx(path) end
        assert error.message =~ pattern, "#{name}: #{error.message}"
        assert String.starts_with?(error.message, "read_idx: #{path}: "), error.message
      end
    end
  end

  ## MNIST

  # A fake MNIST directory: `n` train and `m` test images of 2x3 pixels.
  defp fake_mnist!(dir, opts \\ []) do
    {n, m} = {4, 2}
    gz = Keyword.get(opts, :gz, [])
    pixels = fn count -> Enum.map(0..(count * 6 - 1), &rem(&1 * 37, 256)) end

    files = [
      {"train-images-idx3-ubyte", idx(:u8, [n, 2, 3], pixels.(n))},
      {"train-labels-idx1-ubyte", idx(:u8, [n], [3, 0, 9, 1])},
      {"t10k-images-idx3-ubyte", idx(:u8, [m, 2, 3], pixels.(m))},
      {"t10k-labels-idx1-ubyte", idx(:u8, [m], [5, 2])}
    ]

    files = Keyword.get(opts, :files, files)

    for {name, bytes} <- files do
      if name in gz,
        do: write!(dir, name <> ".gz", :zlib.gzip(bytes)),
        else: write!(dir, name, bytes)
    end

    {pixels.(n), pixels.(m)}
  end

  describe "mnist/2" do
    test "defaults: flattened f32 images in [0, 1] and s64 labels, raw or gzipped", %{dir: dir} do
      {train_px, test_px} =
        fake_mnist!(dir, gz: ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])

      %{train: {xt, yt}, test: {xv, yv}} = Datasets.mnist(dir)
      assert {T.shape(xt), T.type(xt)} == {{4, 6}, {:f, 32}}
      assert {T.shape(xv), T.type(xv)} == {{2, 6}, {:f, 32}}
      assert {T.to_list(yt), T.type(yt)} == {[3, 0, 9, 1], {:s, 64}}
      assert T.to_list(yv) == [5, 2]

      expected = T.tensor(train_px, type: :f32) |> T.divide(255.0) |> T.to_flat_list()
      assert T.to_flat_list(xt) == expected
      assert T.to_flat_list(T.as_type(T.multiply(xv, 255.0), :u8)) == test_px
    end

    test "flatten: false, normalize: false, labels: :one_hot", %{dir: dir} do
      {train_px, _} = fake_mnist!(dir)
      %{train: {x, y}} = Datasets.mnist(dir, flatten: false, normalize: false, labels: :one_hot)
      assert {T.shape(x), T.type(x), T.to_flat_list(x)} == {{4, 2, 3}, {:u, 8}, train_px}
      assert {T.shape(y), T.type(y)} == {{4, 10}, {:f, 32}}
      assert T.to_list(T.argmax(y, axis: 1)) == [3, 0, 9, 1]
    end

    test "the raw file wins over the gzipped one when both exist", %{dir: dir} do
      fake_mnist!(dir)
      write!(dir, "t10k-labels-idx1-ubyte.gz", <<"not gzip">>)
      assert T.to_list(elem(Datasets.mnist(dir).test, 1)) == [5, 2]
    end

    test "a missing directory or file raises Myelin.Datasets.Error", %{dir: dir} do
      missing = Path.join(dir, "none")

      assert_raise Error, "mnist: #{inspect(missing)} is not a directory", fn ->
        Datasets.mnist(missing)
      end

      fake_mnist!(dir)
      File.rm!(Path.join(dir, "t10k-images-idx3-ubyte"))

      assert_raise Error,
                   "mnist: found neither t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte.gz in #{dir}",
                   fn -> Datasets.mnist(dir) end
    end

    test "files of the wrong shape, type or count raise Myelin.Datasets.Error", %{dir: dir} do
      images = idx(:u8, [2, 1, 1], [1, 2])

      cases = [
        {[images, idx(:u8, [3], [1, 2, 3])],
         "mnist: train-images-idx3-ubyte has 2 images but train-labels-idx1-ubyte has 3 labels"},
        {[images, idx(:s32, [2], [1, 2])],
         "mnist: train-labels-idx1-ubyte holds a {2} tensor of {:s, 32}, expected a {n} tensor of {:u, 8}"},
        {[idx(:u8, [2, 2], [1, 2, 3, 4]), idx(:u8, [2], [1, 2])],
         "mnist: train-images-idx3-ubyte holds a {2, 2} tensor of {:u, 8}, expected a {n, rows, cols} tensor of {:u, 8}"}
      ]

      for {[img, lbl], message} <- cases do
        fake_mnist!(dir,
          files: [{"train-images-idx3-ubyte", img}, {"train-labels-idx1-ubyte", lbl}]
        )

        assert_raise Error, message, fn -> Datasets.mnist(dir) end
      end

      write!(dir, "train-images-idx3-ubyte", <<1, 2, 3, 4>>)

      assert_raise Error, ~r/^read_idx: .*train-images-idx3-ubyte: bad magic/, fn ->
        Datasets.mnist(dir)
      end
    end

    test "bad options raise ArgumentError", %{dir: dir} do
      fake_mnist!(dir)

      assert_raise ArgumentError,
                   "mnist: unknown option :flat, expected one of [:flatten, :normalize, :labels]",
                   fn -> Datasets.mnist(dir, flat: true) end

      assert_raise ArgumentError, "mnist: expected flatten: to be true or false, got 1", fn ->
        Datasets.mnist(dir, flatten: 1)
      end

      assert_raise ArgumentError, "mnist: expected normalize: to be true or false, got nil", fn ->
        Datasets.mnist(dir, normalize: nil)
      end

      assert_raise ArgumentError,
                   "mnist: expected labels: to be :integer or :one_hot, got :onehot",
                   fn -> Datasets.mnist(dir, labels: :onehot) end

      assert_raise ArgumentError, "mnist: expected a path (a string), got :dir", fn ->
        Datasets.mnist(:dir)
      end
    end

    @tag :dataset
    @tag timeout: 300_000
    if not File.dir?(@fashion), do: @tag(skip: "no Fashion-MNIST in #{@fashion}")

    test "loads the real Fashion-MNIST" do
      %{train: {x, y}, test: {xv, yv}} = Datasets.mnist(@fashion)
      assert {T.shape(x), T.type(x)} == {{60_000, 784}, {:f, 32}}
      assert {T.shape(y), T.shape(xv), T.shape(yv)} == {{60_000}, {10_000, 784}, {10_000}}
      assert {T.to_number(T.reduce_min(x)), T.to_number(T.reduce_max(x))} == {0.0, 1.0}
      # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
      counts = Datasets.one_hot(y, 10) |> T.sum(axes: [0]) |> T.to_list()
      assert counts == List.duplicate(6000.0, 10)

      assert Datasets.one_hot(yv, 10) |> T.sum(axes: [0]) |> T.to_list() ==
               List.duplicate(1000.0, 10)
    end
  end

  ## CSV

  describe "read_csv/2" do
    test "reads numbers into a 2-D f32 tensor", %{dir: dir} do
      path = write!(dir, "a.csv", "1,2,3\n4.5,-6,7e1\n")
      t = Datasets.read_csv(path)
      assert {T.shape(t), T.type(t)} == {{2, 3}, {:f, 32}}
      assert T.to_list(t) == [[1.0, 2.0, 3.0], [4.5, -6.0, 70.0]]
    end

    test "header, delimiters, CRLF, blank lines, spaces and spellings of numbers", %{dir: dir} do
      path =
        write!(
          dir,
          "b.tsv",
          "x\ty\r\n\r\n .5 \t 5. \r\n+1\t-2.5E-1\r\nnan\tinf\n-inf\t-Infinity\n\n"
        )

      t = Datasets.read_csv(path, header: true, delimiter: "\t", type: :f64)
      assert T.type(t) == {:f, 64}

      assert T.to_list(t) == [
               [0.5, 5.0],
               [1.0, -0.25],
               [:nan, :infinity],
               [:neg_infinity, :neg_infinity]
             ]

      one = write!(dir, "one.csv", "7")
      assert T.to_list(Datasets.read_csv(one, delimiter: ";;")) == [[7.0]]
    end

    test "integer types keep integers exactly", %{dir: dir} do
      path = write!(dir, "i.csv", "9007199254740993,-1\n0,2\n")

      assert T.to_list(Datasets.read_csv(path, type: {:s, 64})) == [
               [9_007_199_254_740_993, -1],
               [0, 2]
             ]

      assert T.to_list(Datasets.read_csv(write!(dir, "u.csv", "255,0"), type: :u8)) == [[255, 0]]
    end

    test "bad files raise Myelin.Datasets.Error naming the row and column", %{dir: dir} do
      cases = [
        {"1,2\n3\n", [],
         "ragged rows: row 2 (line 2) has 1 columns, expected 2 like row 1 (delimiter \",\")"},
        {"h\n\n1,2\n3,4,5\n", [header: true],
         "ragged rows: row 2 (line 4) has 3 columns, expected 2 like row 1 (delimiter \",\")"},
        {"1,2\n3,x\n", [], "row 2 (line 2), column 2: expected a number, got \"x\""},
        {"1,,2\n", [], "row 1 (line 1), column 2: expected a number, got \"\""},
        {"1;2\n", [], "row 1 (line 1), column 1: expected a number, got \"1;2\""},
        {"1,2.5\n", [type: :s32],
         "row 1 (line 1), column 2: expected an integer for type {:s, 32}, got \"2.5\""},
        {"1,nan\n", [type: :u8],
         "row 1 (line 1), column 2: expected an integer for type {:u, 8}, got \"nan\""},
        {"256\n", [type: :u8], "row 1 (line 1), column 1: 256 is out of range for type {:u, 8}"},
        {"-129\n", [type: :s8],
         "row 1 (line 1), column 1: -129 is out of range for type {:s, 8}"},
        {"", [], "empty file: it has no data rows"},
        {"\n \n", [], "empty file: it has no data rows"},
        {"a,b\n", [header: true], "empty file: it has a header but no data rows"}
      ]

      for {{content, opts, problem}, i} <- Enum.with_index(cases) do
        path = write!(dir, "bad#{i}.csv", content)

        assert_raise Error, "read_csv: #{path}: #{problem}", fn ->
          Datasets.read_csv(path, opts)
        end
      end
    end

    test "a missing file raises File.Error; bad options raise ArgumentError", %{dir: dir} do
      assert_raise File.Error, fn -> Datasets.read_csv(Path.join(dir, "none.csv")) end
      path = write!(dir, "ok.csv", "1\n")

      assert_raise ArgumentError,
                   "read_csv: unknown option :sep, expected one of [:header, :delimiter, :type]",
                   fn -> Datasets.read_csv(path, sep: ";") end

      assert_raise ArgumentError,
                   "read_csv: expected delimiter: to be a non-empty string, got \"\"",
                   fn -> Datasets.read_csv(path, delimiter: "") end

      assert_raise ArgumentError,
                   "read_csv: expected delimiter: to be a non-empty string, got 59",
                   fn ->
                     Datasets.read_csv(path, delimiter: ?;)
                   end

      assert_raise ArgumentError,
                   "read_csv: expected header: to be true or false, got \"yes\"",
                   fn ->
                     Datasets.read_csv(path, header: "yes")
                   end

      assert_raise ArgumentError, ~r/^read_csv: unknown type :f8/, fn ->
        Datasets.read_csv(path, type: :f8)
      end

      assert_raise ArgumentError,
                   "read_csv: expected a keyword list of options, got :header",
                   fn ->
                     Datasets.read_csv(path, :header)
                   end
    end
  end
end
