defmodule Myelin.Safetensors do
  @moduledoc """
  Reads and writes [safetensors](https://github.com/huggingface/safetensors)
  files: named tensors plus a map of string metadata.

  The files are the ones Python's `safetensors` library reads and writes
  (`safetensors.torch.load_file`, `safe_open`, ...), so weights move
  between Myelin and PyTorch, JAX or Hugging Face tools without
  conversion. All twelve Myelin types are stored under their safetensors
  names (`{:s, 64}` is `I64`, `{:bf, 16}` is `BF16`, ...). Files holding
  `BOOL` tensors load as `{:u, 8}` tensors of 0 and 1, as Myelin stores
  booleans. The layout is described in `docs/FORMATS.md`.

  Saving writes a temporary file in the same directory and renames it over
  the target, so a crash leaves either the old file or the new one. Loading
  checks the whole header (its length against the file size, the JSON,
  every type, shape and offset, and that no two tensors overlap) before it
  reads any data. A missing, truncated or corrupt file raises
  `ArgumentError` naming the file and the problem.

  Both run on the BEAM's dirty IO schedulers, so large files never block a
  normal scheduler.

      iex> path = Path.join(System.tmp_dir!(), "myelin_doc_weights.safetensors")
      iex> w = Myelin.Tensor.tensor([[1.0, 2.0], [3.0, 4.0]])
      iex> Myelin.Safetensors.save!(path, %{"dense.kernel" => w}, %{"step" => "10"})
      :ok
      iex> {tensors, metadata} = Myelin.Safetensors.load!(path)
      iex> Myelin.Tensor.to_list(tensors["dense.kernel"])
      [[1.0, 2.0], [3.0, 4.0]]
      iex> metadata
      %{"step" => "10"}
  """

  alias Myelin.{Native, Tensor}

  @typedoc "Tensors by name."
  @type tensors :: %{optional(String.t()) => Tensor.t()}
  @typedoc "File-level metadata: strings to strings."
  @type metadata :: %{optional(String.t()) => String.t()}

  @doc """
  Writes `tensors` (a map of string names to tensors) and `metadata` (a map
  of strings to strings) to `path`, replacing any file there. Returns `:ok`.

  Names may be any non-empty UTF-8 string except `"__metadata__"`.

      iex> path = Path.join(System.tmp_dir!(), "myelin_doc_save.safetensors")
      iex> Myelin.Safetensors.save!(path, %{"b" => Myelin.Tensor.tensor([1, 2], type: :bf16)})
      :ok
      iex> Myelin.Safetensors.save!(path, %{b: Myelin.Tensor.tensor(1)})
      ** (ArgumentError) Myelin.Safetensors.save!: expected tensor names to be strings, got :b
  """
  @spec save!(Path.t(), tensors(), metadata()) :: :ok
  def save!(path, tensors, metadata \\ %{}) do
    write!(path, tensors, metadata, "Myelin.Safetensors.save!")
  end

  @doc """
  Reads the safetensors file at `path`: `{tensors, metadata}`, with tensors
  keyed by name.

      iex> path = Path.join(System.tmp_dir!(), "myelin_doc_load.safetensors")
      iex> :ok = Myelin.Safetensors.save!(path, %{"x" => Myelin.Tensor.iota({3}, type: :u16)})
      iex> {%{"x" => x}, %{}} = Myelin.Safetensors.load!(path)
      iex> x.type
      {:u, 16}
      iex> Myelin.Safetensors.load!("/no/such/file.safetensors")
      ** (ArgumentError) Myelin.Safetensors.load!: /no/such/file.safetensors: cannot open: No such file or directory (os error 2)
  """
  @spec load!(Path.t()) :: {tensors(), metadata()}
  def load!(path), do: read!(path, "Myelin.Safetensors.load!")

  @doc """
  Reads only the tensors of the safetensors file at `path` (see `load!/1`).

      iex> path = Path.join(System.tmp_dir!(), "myelin_doc_tensors.safetensors")
      iex> :ok = Myelin.Safetensors.save!(path, %{"x" => Myelin.Tensor.tensor(7)})
      iex> path |> Myelin.Safetensors.load_tensors!() |> Map.keys()
      ["x"]
  """
  @spec load_tensors!(Path.t()) :: tensors()
  def load_tensors!(path) do
    {tensors, _metadata} = read!(path, "Myelin.Safetensors.load_tensors!")
    tensors
  end

  @doc false
  # `save!/3` whose errors name `caller` (used by Myelin.Checkpoint).
  @spec write!(Path.t(), tensors(), metadata(), String.t()) :: :ok
  def write!(path, tensors, metadata, caller) do
    path = path!(path, caller)
    entries = entries!(tensors, caller)
    metadata!(metadata, caller)

    path
    |> Native.safetensors_save(entries, metadata)
    |> unwrap!("safetensors_save", caller)
  end

  @doc false
  # `load!/1` whose errors name `caller` (used by Myelin.Checkpoint).
  @spec read!(Path.t(), String.t()) :: {tensors(), metadata()}
  def read!(path, caller) do
    {entries, metadata} =
      path
      |> path!(caller)
      |> Native.safetensors_load()
      |> unwrap!("safetensors_load", caller)

    {Map.new(entries, fn {name, t} -> {name, Tensor.wrap(t)} end), metadata}
  end

  defp path!(path, caller) do
    IO.chardata_to_string(path)
  rescue
    _ ->
      raise ArgumentError,
            "#{caller}: expected a path (a string or charlist), got #{inspect(path)}"
  end

  defp entries!(tensors, caller) when is_map(tensors) and not is_struct(tensors) do
    Enum.map(tensors, fn
      {name, %Tensor{ref: ref}} when is_binary(name) ->
        if !String.valid?(name) do
          raise ArgumentError,
                "#{caller}: tensor names must be UTF-8 strings, got #{inspect(name)}"
        end

        {name, ref}

      {name, %Tensor{}} ->
        raise ArgumentError,
              "#{caller}: expected tensor names to be strings, got #{inspect(name)}"

      {name, other} ->
        raise ArgumentError,
              "#{caller}: expected a Myelin.Tensor for #{inspect(name)}, got #{inspect(other, limit: 5)}"
    end)
  end

  defp entries!(other, caller) do
    raise ArgumentError,
          "#{caller}: expected a map of names to tensors, got #{inspect(other, limit: 5)}"
  end

  defp metadata!(metadata, caller) when is_map(metadata) and not is_struct(metadata) do
    Enum.each(metadata, fn
      {k, v} when is_binary(k) and is_binary(v) ->
        if !(String.valid?(k) and String.valid?(v)) do
          raise ArgumentError, "#{caller}: metadata must be UTF-8 strings, got #{inspect({k, v})}"
        end

      pair ->
        raise ArgumentError,
              "#{caller}: metadata must map strings to strings, got #{inspect(pair, limit: 5)}"
    end)
  end

  defp metadata!(other, caller) do
    raise ArgumentError,
          "#{caller}: expected metadata as a map of strings to strings, got #{inspect(other, limit: 5)}"
  end

  # The NIF's messages start with its own name ("safetensors_load: ...");
  # the user called `caller`, so that is the name the message shows.
  defp unwrap!({:error, {kind, message}}, nif, caller) do
    message = String.replace_prefix(message, nif <> ":", caller <> ":")
    Native.unwrap!({:error, {kind, message}})
  end

  defp unwrap!(result, _nif, _caller), do: Native.unwrap!(result)
end
