defmodule Myelin.Checkpoint do
  @moduledoc """
  Saves and restores whole training states: any nesting of maps, lists and
  tuples holding tensors, numbers, atoms, strings, `nil` and booleans.

  A checkpoint is a safetensors file (see `Myelin.Safetensors` and
  `docs/FORMATS.md`). Every tensor is one entry, named by where it sits in
  the term: the tensor at `state.params["dense_0"].kernel` is stored as
  `"params.dense_0.kernel"`, so Python's `safetensors` reads the weights
  by name. The rest of the term goes into the metadata key
  `"myelin.structure"` as JSON, with a placeholder for each tensor, and
  `"myelin.format"` holds the format version, `"1"`.

  `load(path)` returns a term equal to the one saved: tensors have the
  same type, shape and bits (NaN payloads, signed zeros), integers of any
  size are exact, floats are bit-exact, and map keys keep their types
  (`:a` and `"a"` stay apart). The same tensor stored in two places is
  written once and loads as one tensor in both places. Loaded tensors are
  new tensors, so compare them by value (`Myelin.Tensor.to_binary/1`),
  not with `==` on the structs.

  Loading creates the atoms named in the file, so load checkpoints only
  from sources you trust: atoms are never garbage-collected.

      iex> path = Path.join(System.tmp_dir!(), "myelin_doc.ckpt")
      iex> state = %{step: 3, params: %{"dense_0" => %{kernel: Myelin.Tensor.eye(2)}}, lr: 1.0e-3}
      iex> Myelin.Checkpoint.save(path, state)
      :ok
      iex> restored = Myelin.Checkpoint.load(path)
      iex> {restored.step, restored.lr}
      {3, 1.0e-3}
      iex> Myelin.Tensor.to_list(restored.params["dense_0"].kernel)
      [[1, 0], [0, 1]]
      iex> path |> Myelin.Safetensors.load_tensors!() |> Map.keys()
      ["params.dense_0.kernel"]
  """

  alias Myelin.Checkpoint.JSON
  alias Myelin.{Safetensors, Tensor}

  @format "1"
  @format_key "myelin.format"
  @structure_key "myelin.structure"

  @doc """
  Writes `term` to `path` as a checkpoint, replacing any file there
  (atomically: a crash leaves the old file or the new one). Returns `:ok`.

  Raises `ArgumentError` for a term that holds something else than maps,
  lists, tuples, tensors, numbers, atoms, strings (or other binaries),
  naming where it sits, and for a file that cannot be written.

      iex> Myelin.Checkpoint.save(Path.join(System.tmp_dir!(), "bad.ckpt"), %{f: [1 | 2]})
      ** (ArgumentError) Myelin.Checkpoint.save: cannot store an improper list (tail 2) at f
  """
  @spec save(Path.t(), term()) :: :ok
  def save(path, term) do
    {node, acc} =
      to_node(term, [], %{names: MapSet.new(["__metadata__"]), by_ref: %{}, entries: %{}})

    metadata = %{@format_key => @format, @structure_key => IO.iodata_to_binary(JSON.encode(node))}
    Safetensors.write!(path, acc.entries, metadata, "Myelin.Checkpoint.save")
  end

  @doc """
  Reads the checkpoint at `path` and returns the term that was saved.

  Raises `ArgumentError` naming the file when it is missing, not a Myelin
  checkpoint, of a newer format version, or corrupt.

      iex> Myelin.Checkpoint.load("/no/such.ckpt")
      ** (ArgumentError) Myelin.Checkpoint.load: /no/such.ckpt: cannot open: No such file or directory (os error 2)
  """
  @spec load(Path.t()) :: term()
  def load(path) do
    {tensors, metadata} = Safetensors.read!(path, "Myelin.Checkpoint.load")
    fail = fn problem -> raise ArgumentError, "Myelin.Checkpoint.load: #{path}: #{problem}" end

    case metadata do
      %{@format_key => @format, @structure_key => json} ->
        node =
          case JSON.decode(json) do
            {:ok, node} -> node
            {:error, reason} -> fail.("#{@structure_key} is not valid JSON (#{reason})")
          end

        {term, used} = from_node(node, tensors, MapSet.new(), fail)
        unused = tensors |> Map.keys() |> Enum.reject(&MapSet.member?(used, &1)) |> Enum.sort()

        if unused != [],
          do: fail.("the structure does not mention the tensors #{inspect(unused)}")

        term

      %{@format_key => @format} ->
        fail.("has no #{inspect(@structure_key)} metadata")

      %{@format_key => other} ->
        fail.(
          "is format version #{inspect(other)}; this Myelin reads version #{inspect(@format)}"
        )

      _ ->
        fail.(
          "is not a Myelin checkpoint (no #{inspect(@format_key)} metadata); " <>
            "read plain safetensors files with Myelin.Safetensors.load!/1"
        )
    end
  end

  ## Term -> JSON node. Every value that JSON cannot hold on its own is an
  ## object with one key saying what it is. `path` is reversed.

  defp to_node(%Tensor{} = t, path, acc) do
    case Map.fetch(acc.by_ref, t.ref) do
      {:ok, name} ->
        {%{"tensor" => name}, acc}

      :error ->
        name = unique_name(path, acc.names)

        acc = %{
          names: MapSet.put(acc.names, name),
          by_ref: Map.put(acc.by_ref, t.ref, name),
          entries: Map.put(acc.entries, name, t)
        }

        {%{"tensor" => name}, acc}
    end
  end

  defp to_node(x, _path, acc) when is_number(x) or x in [nil, true, false], do: {x, acc}
  defp to_node(a, _path, acc) when is_atom(a), do: {%{"atom" => Atom.to_string(a)}, acc}

  defp to_node(s, _path, acc) when is_binary(s) do
    if String.valid?(s), do: {s, acc}, else: {%{"binary" => Base.encode64(s)}, acc}
  end

  defp to_node(list, path, acc) when is_list(list), do: list_nodes(list, 0, path, acc, [])

  defp to_node(tuple, path, acc) when is_tuple(tuple) do
    {nodes, acc} = list_nodes(Tuple.to_list(tuple), 0, path, acc, [])
    {%{"tuple" => nodes}, acc}
  end

  # Structs are stored as their maps (Map.to_list, not Enum: a struct such
  # as MapSet enumerates its elements, not its fields), and load as structs.
  defp to_node(map, path, acc) when is_map(map) do
    {pairs, acc} =
      map
      |> Map.to_list()
      |> Enum.sort()
      |> Enum.map_reduce(acc, fn {key, value}, acc ->
        no_tensor_in_key!(key, key, path)
        {key_node, acc} = to_node(key, path, acc)
        {value_node, acc} = to_node(value, [component(key) | path], acc)
        {[key_node, value_node], acc}
      end)

    {%{"map" => pairs}, acc}
  end

  defp to_node(other, path, _acc) do
    raise ArgumentError,
          "Myelin.Checkpoint.save: cannot store #{inspect(other, limit: 5)} at #{where(path)}; " <>
            "checkpoints hold maps, lists, tuples, Myelin tensors, numbers, atoms and binaries"
  end

  defp list_nodes([x | rest], i, path, acc, nodes) do
    {node, acc} = to_node(x, [Integer.to_string(i) | path], acc)
    list_nodes(rest, i + 1, path, acc, [node | nodes])
  end

  defp list_nodes([], _i, _path, acc, nodes), do: {Enum.reverse(nodes), acc}

  defp list_nodes(tail, _i, path, _acc, _nodes) do
    raise ArgumentError,
          "Myelin.Checkpoint.save: cannot store an improper list (tail #{inspect(tail, limit: 5)}) at #{where(path)}"
  end

  defp no_tensor_in_key!(%Tensor{}, key, path) do
    raise ArgumentError,
          "Myelin.Checkpoint.save: a tensor cannot be a map key (in key #{inspect(key, limit: 3)} at #{where(path)})"
  end

  defp no_tensor_in_key!(x, key, path) when is_list(x),
    do: Enum.each(x, &no_tensor_in_key!(&1, key, path))

  defp no_tensor_in_key!(x, key, path) when is_tuple(x),
    do: no_tensor_in_key!(Tuple.to_list(x), key, path)

  defp no_tensor_in_key!(x, key, path) when is_map(x),
    do: Enum.each(Map.to_list(x), fn {k, v} -> no_tensor_in_key!([k, v], key, path) end)

  defp no_tensor_in_key!(_x, _key, _path), do: :ok

  # How a map key reads inside an entry name.
  defp component(key) when is_binary(key), do: if(String.valid?(key), do: key, else: inspect(key))
  defp component(key) when is_atom(key), do: Atom.to_string(key)
  defp component(key) when is_integer(key), do: Integer.to_string(key)
  defp component(key), do: inspect(key, limit: 3)

  defp where([]), do: "the top level"
  defp where(path), do: path |> Enum.reverse() |> Enum.join(".")

  # The path joined with dots; a path already taken (say by the keys "a.b"
  # and a => b, or :w and "w") gets a numeric suffix. The file records
  # each tensor's entry name, so loading never relies on this scheme.
  defp unique_name([], names), do: unique_name(["tensor"], names)

  defp unique_name(path, names) do
    base = where(path)

    if MapSet.member?(names, base),
      do: Enum.find_value(Stream.iterate(2, &(&1 + 1)), &free(names, "#{base}_#{&1}")),
      else: base
  end

  defp free(names, name), do: if(!MapSet.member?(names, name), do: name)

  ## JSON node -> term.

  defp from_node(x, _t, used, _fail) when is_number(x) or is_binary(x) or x in [nil, true, false],
    do: {x, used}

  defp from_node(list, t, used, fail) when is_list(list),
    do: Enum.map_reduce(list, used, &from_node(&1, t, &2, fail))

  defp from_node(%{"tensor" => name} = node, tensors, used, fail) when map_size(node) == 1 do
    case tensors do
      %{^name => tensor} -> {tensor, MapSet.put(used, name)}
      _ -> fail.("the structure refers to tensor #{inspect(name)}, which the file does not hold")
    end
  end

  defp from_node(%{"atom" => name} = node, _t, used, _fail)
       when map_size(node) == 1 and is_binary(name),
       do: {String.to_atom(name), used}

  defp from_node(%{"binary" => b64} = node, _t, used, fail)
       when map_size(node) == 1 and is_binary(b64) do
    case Base.decode64(b64) do
      {:ok, bin} -> {bin, used}
      :error -> fail.("bad base64 in the structure: #{inspect(b64, limit: 5)}")
    end
  end

  defp from_node(%{"tuple" => items} = node, t, used, fail)
       when map_size(node) == 1 and is_list(items) do
    {items, used} = from_node(items, t, used, fail)
    {List.to_tuple(items), used}
  end

  defp from_node(%{"map" => pairs} = node, t, used, fail)
       when map_size(node) == 1 and is_list(pairs) do
    {pairs, used} =
      Enum.map_reduce(pairs, used, fn
        [k, v], used ->
          {k, used} = from_node(k, t, used, fail)
          {v, used} = from_node(v, t, used, fail)
          {{k, v}, used}

        other, _used ->
          fail.(
            "bad map entry in the structure: #{inspect(other, limit: 5)}, expected [key, value]"
          )
      end)

    map = Map.new(pairs)
    if map_size(map) != length(pairs), do: fail.("a map in the structure has a key twice")
    {map, used}
  end

  defp from_node(other, _t, _used, fail),
    do: fail.("unknown node in the structure: #{inspect(other, limit: 5)}")
end
