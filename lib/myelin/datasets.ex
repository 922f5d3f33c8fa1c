defmodule Myelin.Datasets do
  @moduledoc """
  Loading and batching data for training: IDX files (the MNIST format),
  MNIST and Fashion-MNIST, CSV files of numbers, one-hot labels, batches
  (shuffled reproducibly) and train/validation splits.

  Every reader returns `Myelin.Tensor`s. A file that cannot be read as what
  it claims to be raises `Myelin.Datasets.Error`, naming the function, the
  file and the problem; a missing file raises `File.Error`; bad arguments
  and unknown options raise `ArgumentError`.

  ## Reproducible shuffling

  `batch/3` and `split/3` shuffle with the engine's counter-based random
  numbers: the same `seed:` (and `epoch:`) gives the same order on every
  machine, whatever the number of threads.
  """

  alias Myelin.Datasets.{Batching, CSV, IDX, MNIST, Options}
  alias Myelin.Tensor
  alias Myelin.Tensor.Type

  @doc """
  Reads an IDX file (the format of MNIST) into a tensor of the file's type
  and shape.

  The header is `0x00 0x00 <type> <rank>`, then one big-endian u32 per
  dimension; type codes are 0x08 (u8), 0x09 (s8), 0x0B (s16), 0x0C (s32),
  0x0D (f32) and 0x0E (f64). The big-endian data is converted to the
  engine's native order. Gzipped files are recognised by their first bytes
  (`1f 8b`), whatever their name.

      iex> path = Path.join(System.tmp_dir!(), "myelin-doc-\#{System.pid()}.idx")
      iex> File.write!(path, <<0, 0, 0x0B, 2, 2::32, 2::32, 1::16, -2::16, 300::16, 4::16>>)
      iex> t = Myelin.Datasets.read_idx(path)
      iex> File.rm!(path)
      iex> {Myelin.Tensor.type(t), Myelin.Tensor.to_list(t)}
      {{:s, 16}, [[1, -2], [300, 4]]}

  A bad magic number, an unknown type code, truncated data, data longer
  than the header says, or bad gzip raise `Myelin.Datasets.Error`.
  """
  @spec read_idx(Path.t()) :: Tensor.t()
  def read_idx(path) do
    IDX.read!(path!(path, :read_idx))
  end

  @doc """
  Loads MNIST (or Fashion-MNIST, which has the same files) from `dir`.

  `dir` must hold `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
  `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each raw or with
  `.gz` appended. Returns `%{train: {images, labels}, test: {images, labels}}`.

  ## Options

    * `flatten:` - `true` (default) gives images of shape `{n, 784}`;
      `false` keeps `{n, 28, 28}`.
    * `normalize:` - `true` (default) gives `{:f, 32}` pixels in `[0, 1]`;
      `false` keeps the `{:u, 8}` bytes.
    * `labels:` - `:integer` (default) gives `{:s, 64}` labels of shape
      `{n}`; `:one_hot` gives `{:f, 32}` of shape `{n, 10}`.

  A missing file or a file of the wrong shape or type raises
  `Myelin.Datasets.Error`.
  """
  @spec mnist(Path.t(), keyword()) :: %{
          train: {Tensor.t(), Tensor.t()},
          test: {Tensor.t(), Tensor.t()}
        }
  def mnist(dir, opts \\ []) do
    fun = :mnist
    opts = Tensor.validate_opts!(opts, [:flatten, :normalize, :labels], fun)

    MNIST.load!(
      path!(dir, fun),
      Options.boolean!(opts, :flatten, true, fun),
      Options.boolean!(opts, :normalize, true, fun),
      Options.one_of!(opts, :labels, :integer, [:integer, :one_hot], fun)
    )
  end

  @doc """
  Reads a CSV file of numbers into a 2-D tensor, one row per line.

  Cells may be integers, decimals (`1.5`, `.5`, `1e-3`) or `nan`, `inf`,
  `-inf`; spaces around cells are ignored and blank lines are skipped.

  ## Options

    * `header:` - `true` skips the first line (default `false`).
    * `delimiter:` - the string between cells (default `","`).
    * `type:` - the tensor's type (default `{:f, 32}`). With an integer
      type every cell must be an integer in the type's range.

  ## Examples

      iex> path = Path.join(System.tmp_dir!(), "myelin-doc-\#{System.pid()}.csv")
      iex> File.write!(path, "a;b\\n1;2.5\\n3;-4\\n")
      iex> t = Myelin.Datasets.read_csv(path, header: true, delimiter: ";")
      iex> File.rm!(path)
      iex> Myelin.Tensor.to_list(t)
      [[1.0, 2.5], [3.0, -4.0]]

  Rows of different lengths, a cell that is not a number (the error names
  its row and column) and a file with no data rows raise
  `Myelin.Datasets.Error`.
  """
  @spec read_csv(Path.t(), keyword()) :: Tensor.t()
  def read_csv(path, opts \\ []) do
    fun = :read_csv
    opts = Tensor.validate_opts!(opts, [:header, :delimiter, :type], fun)

    delimiter =
      case Keyword.get(opts, :delimiter, ",") do
        d when is_binary(d) and d != "" ->
          d

        other ->
          raise ArgumentError,
                "read_csv: expected delimiter: to be a non-empty string, got #{inspect(other)}"
      end

    CSV.read!(
      path!(path, fun),
      Options.boolean!(opts, :header, false, fun),
      delimiter,
      Type.normalize!(Keyword.get(opts, :type, {:f, 32}), fun)
    )
  end

  @doc """
  One-hot encodes integer `labels` (a tensor or a list of integers) over
  `num_classes` classes: the result has a new last axis of size
  `num_classes`, with 1 at each label's position. Labels must lie in
  `0..num_classes - 1`. The type is `type:` (default `{:f, 32}`).

      iex> Myelin.Datasets.one_hot(Myelin.Tensor.tensor([2, 0]), 3) |> Myelin.Tensor.to_list()
      [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]

      iex> Myelin.Datasets.one_hot([1], 2, type: :u8) |> Myelin.Tensor.to_list()
      [[0, 1]]
  """
  @spec one_hot(Tensor.t() | [integer()], pos_integer(), keyword()) :: Tensor.t()
  def one_hot(labels, num_classes, opts \\ []) do
    opts = Tensor.validate_opts!(opts, [:type], :one_hot)
    type = Type.normalize!(Keyword.get(opts, :type, {:f, 32}), :one_hot)
    labels = labels!(labels)

    unless is_integer(num_classes) and num_classes > 0 do
      raise ArgumentError,
            "one_hot: expected num_classes to be a positive integer, got #{inspect(num_classes)}"
    end

    if Tensor.size(labels) > 0 do
      {lo, hi} = {Tensor.reduce_min(labels), Tensor.reduce_max(labels)}
      {lo, hi} = {Tensor.to_number(lo), Tensor.to_number(hi)}

      if lo < 0 or hi >= num_classes do
        raise ArgumentError,
              "one_hot: expected labels in 0..#{num_classes - 1}, got labels from #{lo} to #{hi}"
      end
    end

    labels
    |> Tensor.new_axis(-1)
    |> Tensor.equal(Tensor.iota({num_classes}))
    |> Tensor.as_type(type)
  end

  defp labels!(%Tensor{type: type} = t) do
    if Type.float?(type) do
      raise ArgumentError,
            "one_hot: expected labels of an integer type, got a tensor of #{inspect(type)}"
    end

    t
  end

  defp labels!(list) when is_list(list) do
    if Enum.all?(List.flatten(list), &is_integer/1) do
      Tensor.tensor(list)
    else
      raise ArgumentError,
            "one_hot: expected labels to be a tensor or a list of integers, got #{inspect(list, limit: 10)}"
    end
  end

  defp labels!(other) do
    raise ArgumentError,
          "one_hot: expected labels to be a tensor or a list of integers, got #{inspect(other)}"
  end

  @doc """
  A lazy stream of `{x_batch, y_batch}` taken along axis 0 of `x` and `y`
  (which must have the same size on axis 0). `y` may be `nil`, giving
  `{x_batch, nil}`. Each batch is gathered only when it is consumed.

  ## Options

    * `batch_size:` - examples per batch (required, a positive integer).
    * `shuffle:` - `true` visits the examples in a random order (default
      `false`).
    * `seed:` - the seed of the order (default 0): the same seed gives the
      same order on every machine.
    * `epoch:` - mixed into the seed (default 0), so that each epoch gets a
      different, reproducible order.
    * `drop_remainder:` - `true` leaves out a last batch smaller than
      `batch_size` (default `false`).

  ## Examples

      iex> x = Myelin.Tensor.iota({5, 2})
      iex> y = Myelin.Tensor.iota({5})
      iex> Myelin.Datasets.batch(x, y, batch_size: 2)
      ...> |> Enum.map(fn {xb, yb} -> {Myelin.Tensor.shape(xb), Myelin.Tensor.to_list(yb)} end)
      [{{2, 2}, [0, 1]}, {{2, 2}, [2, 3]}, {{1, 2}, [4]}]

      iex> y = Myelin.Tensor.iota({5})
      iex> Myelin.Datasets.batch(y, nil, batch_size: 2, shuffle: true, seed: 7, drop_remainder: true)
      ...> |> Enum.map(fn {yb, nil} -> Myelin.Tensor.to_list(yb) end)
      ...> |> Enum.map(&length/1)
      [2, 2]
  """
  @spec batch(Tensor.t(), Tensor.t() | nil, keyword()) :: Enumerable.t()
  def batch(x, y, opts) do
    fun = :batch
    allowed = [:batch_size, :shuffle, :seed, :epoch, :drop_remainder]
    opts = Tensor.validate_opts!(opts, allowed, fun)
    n = examples!(x, y, fun)

    Batching.batches(x, y, n,
      batch_size: Options.pos_integer!(opts, :batch_size, fun),
      shuffle: Options.boolean!(opts, :shuffle, false, fun),
      seed: Options.seed!(opts, :seed, fun),
      epoch: Options.seed!(opts, :epoch, fun),
      drop_remainder: Options.boolean!(opts, :drop_remainder, false, fun)
    )
  end

  @doc """
  Splits examples along axis 0 into `{{x_train, y_train}, {x_val, y_val}}`.
  The validation part holds `round(n * validation)` examples, the last ones
  of the (shuffled) order; both parts must be non-empty. `y` may be `nil`.

  ## Options

    * `validation:` - the fraction for validation, strictly between 0 and 1
      (default 0.1).
    * `shuffle:` - `true` (default) shuffles before splitting;
      `false` keeps the last examples for validation.
    * `seed:` - the seed of the shuffle (default 0).

  ## Examples

      iex> x = Myelin.Tensor.iota({10, 1})
      iex> {{xt, nil}, {xv, nil}} = Myelin.Datasets.split(x, nil, validation: 0.2, shuffle: false)
      iex> {Myelin.Tensor.shape(xt), Myelin.Tensor.to_flat_list(xv)}
      {{8, 1}, [8, 9]}
  """
  @spec split(Tensor.t(), Tensor.t() | nil, keyword()) ::
          {{Tensor.t(), Tensor.t() | nil}, {Tensor.t(), Tensor.t() | nil}}
  def split(x, y, opts \\ []) do
    fun = :split
    opts = Tensor.validate_opts!(opts, [:validation, :shuffle, :seed], fun)
    n = examples!(x, y, fun)

    fraction =
      case Keyword.get(opts, :validation, 0.1) do
        f when is_number(f) and f > 0 and f < 1 ->
          f

        other ->
          raise ArgumentError,
                "split: expected validation: to be a number strictly between 0 and 1, got #{inspect(other)}"
      end

    n_val = round(n * fraction)

    if n_val == 0 or n_val == n do
      raise ArgumentError,
            "split: validation: #{fraction} of #{n} examples leaves an empty " <>
              if(n_val == 0, do: "validation set", else: "training set")
    end

    Batching.split(
      x,
      y,
      n,
      n_val,
      Options.boolean!(opts, :shuffle, true, fun),
      Options.seed!(opts, :seed, fun)
    )
  end

  # The number of examples (size of axis 0) shared by x and y.
  defp examples!(%Tensor{shape: shape} = x, y, fun) when tuple_size(shape) > 0 do
    n = elem(shape, 0)

    case y do
      nil ->
        n

      %Tensor{shape: yshape} when tuple_size(yshape) > 0 and elem(yshape, 0) == n ->
        n

      %Tensor{shape: yshape} ->
        raise ArgumentError,
              "#{fun}: expected y to have #{n} examples on axis 0 like x (shape #{inspect(x.shape)}), " <>
                "got shape #{inspect(yshape)}"

      other ->
        raise ArgumentError,
              "#{fun}: expected y to be a Myelin.Tensor or nil, got #{inspect(other)}"
    end
  end

  defp examples!(other, _y, fun) do
    raise ArgumentError,
          "#{fun}: expected x to be a Myelin.Tensor with at least one axis, got #{inspect(other)}"
  end

  defp path!(path, _fun) when is_binary(path), do: path

  defp path!(path, fun) do
    IO.chardata_to_string(path)
  rescue
    _ -> raise ArgumentError, "#{fun}: expected a path (a string), got #{inspect(path)}"
  end
end
