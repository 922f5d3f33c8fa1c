defmodule Myelin.Datasets.IDX do
  @moduledoc false
  # Reads IDX files (the MNIST format): a magic number 0x00 0x00 <type code>
  # <number of dimensions>, the dimensions as big-endian u32, then the data,
  # big-endian, row-major. Gzipped files are recognised by their first two
  # bytes, so a file's name does not have to say whether it is compressed.

  alias Myelin.Datasets.Error
  alias Myelin.Tensor

  @types %{
    0x08 => {:u, 8},
    0x09 => {:s, 8},
    0x0B => {:s, 16},
    0x0C => {:s, 32},
    0x0D => {:f, 32},
    0x0E => {:f, 64}
  }

  @codes_text "0x08 (u8), 0x09 (s8), 0x0B (s16), 0x0C (s32), 0x0D (f32) or 0x0E (f64)"

  @spec read!(Path.t()) :: Tensor.t()
  def read!(path) do
    path |> File.read!() |> gunzip!(path) |> parse!(path)
  end

  defp gunzip!(<<0x1F, 0x8B, _::binary>> = gz, path) do
    :zlib.gunzip(gz)
  rescue
    e in ErlangError ->
      fail!(
        path,
        "bad gzip data (the file starts like gzip, but gunzip failed: #{inspect(e.original)})"
      )
  end

  defp gunzip!(raw, _path), do: raw

  defp parse!(<<0, 0, code, ndims, rest::binary>>, path) do
    type =
      Map.get(@types, code) ||
        fail!(path, "unknown type code #{hex(code)}, expected #{@codes_text}")

    header = 4 * ndims

    {dims_bin, data} =
      case rest do
        <<dims_bin::binary-size(header), data::binary>> ->
          {dims_bin, data}

        _ ->
          fail!(
            path,
            "truncated header: #{ndims} dimensions need #{header} bytes after the magic number, " <>
              "the file has #{byte_size(rest)}"
          )
      end

    dims = for <<d::32-big <- dims_bin>>, do: d
    shape = List.to_tuple(dims)
    count = Enum.product(dims)
    {_, bits} = type
    expected = count * div(bits, 8)

    cond do
      byte_size(data) < expected ->
        fail!(
          path,
          "truncated data: shape #{inspect(shape)} of #{inspect(type)} needs #{expected} bytes, " <>
            "the file has #{byte_size(data)}"
        )

      byte_size(data) > expected ->
        fail!(
          path,
          "size mismatch: shape #{inspect(shape)} of #{inspect(type)} needs #{expected} bytes, " <>
            "the file has #{byte_size(data)} (#{byte_size(data) - expected} too many)"
        )

      true ->
        data |> to_native(bits, count) |> Tensor.from_binary(type, shape: shape)
    end
  end

  defp parse!(<<a, b, c, d, _::binary>>, path) do
    fail!(
      path,
      "bad magic number #{Enum.map_join([a, b, c, d], " ", &hex/1)}, expected 0x00 0x00 <type code> <rank>"
    )
  end

  defp parse!(short, path) do
    fail!(
      path,
      "bad magic number: the file has #{byte_size(short)} bytes, fewer than the 4 of the magic number"
    )
  end

  # IDX data is big-endian and the engine takes native-endian binaries. The
  # bytes of each element are reversed in the engine (a u8 tensor of shape
  # {count, width} reversed along its last axis), which is much faster than a
  # binary comprehension over millions of elements.
  defp to_native(data, 8, _count), do: data

  defp to_native(data, bits, count) do
    case :erlang.system_info(:endian) do
      :big ->
        data

      :little ->
        data
        |> Tensor.from_binary(:u8, shape: {count, div(bits, 8)})
        |> Tensor.reverse(axes: [1])
        |> Tensor.to_binary()
    end
  end

  defp hex(byte), do: "0x" <> String.pad_leading(Integer.to_string(byte, 16), 2, "0")

  defp fail!(path, problem), do: raise(Error, "read_idx: #{path}: #{problem}")
end
