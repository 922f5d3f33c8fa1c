defmodule Myelin.Datasets.CSV do
  @moduledoc false
  # Reads a CSV file of numbers into a 2-D tensor. Blank lines are skipped;
  # cells are trimmed. Errors name the data row (1-based, not counting the
  # header), the line of the file and the column, so a user can find the cell.

  alias Myelin.Datasets.Error
  alias Myelin.Tensor
  alias Myelin.Tensor.Type

  @spec read!(Path.t(), boolean(), String.t(), Type.t()) :: Tensor.t()
  def read!(path, header?, delimiter, type) do
    lines =
      path
      |> File.read!()
      |> String.split(["\r\n", "\n"])
      |> Enum.with_index(1)
      |> Enum.reject(fn {line, _} -> String.trim(line) == "" end)

    rows = if header?, do: Enum.drop(lines, 1), else: lines

    if rows == [] do
      what = if header? and lines != [], do: "a header but no data rows", else: "no data rows"
      fail!(path, "empty file: it has #{what}")
    end

    [{first, _} | _] = rows
    cols = length(:binary.split(first, delimiter, [:global]))

    parsed =
      rows
      |> Enum.with_index(1)
      |> Enum.map(fn {{line, line_no}, row} ->
        cells = :binary.split(line, delimiter, [:global])

        if length(cells) != cols do
          fail!(
            path,
            "ragged rows: row #{row} (line #{line_no}) has #{length(cells)} columns, " <>
              "expected #{cols} like row 1 (delimiter #{inspect(delimiter)})"
          )
        end

        cells
        |> Enum.with_index(1)
        |> Enum.map(fn {cell, col} -> cell!(cell, type, path, row, line_no, col) end)
      end)

    parsed
    |> List.flatten()
    |> Tensor.tensor(type: type)
    |> Tensor.reshape({length(parsed), cols})
  end

  defp cell!(cell, type, path, row, line_no, col) do
    text = trim(cell)
    value = number(text)

    problem =
      cond do
        value == :error ->
          "expected a number, got #{inspect(text)}"

        Type.float?(type) ->
          nil

        not is_integer(value) ->
          "expected an integer for type #{inspect(type)}, got #{inspect(text)}"

        not in_range?(value, type) ->
          "#{value} is out of range for type #{inspect(type)}"

        true ->
          nil
      end

    if problem, do: fail!(path, "row #{row} (line #{line_no}), column #{col}: #{problem}")
    value
  end

  # Integers, decimals ("1.5", ".5", "5.", "1e-3") and the non-finite
  # spellings numpy and pandas write (nan, inf, -inf, infinity).
  defp number(text) do
    case Integer.parse(text) do
      {i, ""} -> i
      _ -> float(text)
    end
  end

  # :erlang.binary_to_float/1 is several times faster than Float.parse/1 on
  # the usual "1.25" and "1.25e-3"; the slower parsers handle the rest.
  defp float(text) do
    :erlang.binary_to_float(text)
  rescue
    ArgumentError ->
      case Float.parse(text) do
        {f, ""} -> f
        _ -> loose_float(text)
      end
  end

  # Float.parse/1 wants digits on both sides of the point; the regexes run
  # only for cells it rejects, so well-formed files do not pay for them.
  defp loose_float(text) do
    fixed =
      text
      |> String.replace(~r/^([+-]?)\./, "\\g{1}0.")
      |> String.replace(~r/\.($|[eE])/, ".0\\g{1}")

    case fixed != text and Float.parse(fixed) do
      {f, ""} -> f
      _ -> special(String.downcase(text))
    end
  end

  # String.trim/1 is Unicode-aware and slow; most cells need no trimming.
  @blank [" ", "\t", "\r"]

  defp trim(cell)
       when byte_size(cell) > 0 and
              (binary_part(cell, 0, 1) in @blank or
                 binary_part(cell, byte_size(cell) - 1, 1) in @blank),
       do: String.trim(cell)

  defp trim(cell), do: cell

  defp special(t) when t in ["nan", "+nan", "-nan"], do: :nan
  defp special(t) when t in ["inf", "+inf", "infinity", "+infinity"], do: :infinity
  defp special(t) when t in ["-inf", "-infinity"], do: :neg_infinity
  defp special(_), do: :error

  defp in_range?(v, {:u, bits}), do: v >= 0 and v < Bitwise.bsl(1, bits)

  defp in_range?(v, {:s, bits}),
    do: v >= -Bitwise.bsl(1, bits - 1) and v < Bitwise.bsl(1, bits - 1)

  defp fail!(path, problem), do: raise(Error, "read_csv: #{path}: #{problem}")
end
