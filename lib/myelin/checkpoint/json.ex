defmodule Myelin.Checkpoint.JSON do
  # A small JSON encoder and strict decoder for the checkpoint structure
  # (Myelin takes no Hex dependencies, and Elixir 1.14 has no JSON module).
  #
  # Values: nil, true, false, integers (any size), floats, UTF-8 binaries,
  # lists, and maps with string keys. Floats are written in the shortest
  # form that reads back as the same float, always with a "." or an
  # exponent, so integers and floats stay apart.
  @moduledoc false

  @type value ::
          nil
          | boolean()
          | integer()
          | float()
          | String.t()
          | [value()]
          | %{String.t() => value()}

  @doc "Encodes `value` as JSON iodata."
  @spec encode(value()) :: iodata()
  def encode(nil), do: "null"
  def encode(true), do: "true"
  def encode(false), do: "false"
  def encode(n) when is_integer(n), do: Integer.to_string(n)
  def encode(x) when is_float(x), do: Float.to_string(x)
  def encode(s) when is_binary(s), do: [?", escape(s, s, 0, 0, []), ?"]
  def encode(list) when is_list(list), do: [?[, Enum.map_intersperse(list, ?,, &encode/1), ?]]

  def encode(map) when is_map(map) do
    pairs =
      map |> Enum.sort() |> Enum.map_intersperse(?,, fn {k, v} -> [encode(k), ?:, encode(v)] end)

    [?{, pairs, ?}]
  end

  # Copies runs of plain bytes as sub-binaries and escapes `"`, `\` and
  # control characters; other UTF-8 passes through unchanged.
  defp escape(<<c, rest::binary>>, s, start, len, acc) when c in [?", ?\\] or c < 0x20 do
    acc = [acc, binary_part(s, start, len), escape_char(c)]
    escape(rest, s, start + len + 1, 0, acc)
  end

  defp escape(<<_, rest::binary>>, s, start, len, acc), do: escape(rest, s, start, len + 1, acc)
  defp escape(<<>>, s, start, len, acc), do: [acc, binary_part(s, start, len)]

  defp escape_char(?"), do: "\\\""
  defp escape_char(?\\), do: "\\\\"
  defp escape_char(?\n), do: "\\n"
  defp escape_char(?\t), do: "\\t"
  defp escape_char(?\r), do: "\\r"
  defp escape_char(c), do: ["\\u00", String.pad_leading(Integer.to_string(c, 16), 2, "0")]

  @doc """
  Decodes one JSON value (surrounded by optional whitespace). Returns
  `{:ok, value}` or `{:error, reason}` with the byte position.
  """
  @spec decode(binary()) :: {:ok, value()} | {:error, String.t()}
  def decode(json) when is_binary(json) do
    {value, rest} = value(skip_ws(json))

    case skip_ws(rest) do
      "" -> {:ok, value}
      rest -> fail("unexpected text after the value", rest)
    end
  catch
    {:json_error, reason, rest} ->
      {:error, "#{reason} at byte #{byte_size(json) - byte_size(rest)}"}
  end

  defp fail(reason, rest), do: throw({:json_error, reason, rest})

  defp skip_ws(<<c, rest::binary>>) when c in [?\s, ?\t, ?\n, ?\r], do: skip_ws(rest)
  defp skip_ws(rest), do: rest

  defp value("null" <> rest), do: {nil, rest}
  defp value("true" <> rest), do: {true, rest}
  defp value("false" <> rest), do: {false, rest}
  defp value("\"" <> rest), do: string(rest, [])
  defp value("[" <> rest), do: array(skip_ws(rest), [])
  defp value("{" <> rest), do: object(skip_ws(rest), %{})
  defp value(<<c, _::binary>> = rest) when c == ?- or c in ?0..?9, do: number(rest)
  defp value(""), do: fail("unexpected end of input", "")
  defp value(rest), do: fail("unexpected character", rest)

  defp array("]" <> rest, []), do: {[], rest}

  defp array(rest, acc) do
    {v, rest} = value(rest)

    case skip_ws(rest) do
      "," <> rest -> array(skip_ws(rest), [v | acc])
      "]" <> rest -> {Enum.reverse([v | acc]), rest}
      rest -> fail("expected , or ] in a list", rest)
    end
  end

  defp object("}" <> rest, acc) when acc == %{}, do: {acc, rest}

  defp object("\"" <> _ = rest, acc) do
    {key, rest} = value(rest)
    if Map.has_key?(acc, key), do: fail("key #{inspect(key)} appears twice in an object", rest)

    {v, rest} =
      case skip_ws(rest) do
        ":" <> rest -> value(skip_ws(rest))
        rest -> fail("expected : after an object key", rest)
      end

    acc = Map.put(acc, key, v)

    case skip_ws(rest) do
      "," <> rest -> object(skip_ws(rest), acc)
      "}" <> rest -> {acc, rest}
      rest -> fail("expected , or } in an object", rest)
    end
  end

  defp object(rest, _acc), do: fail("expected a string key in an object", rest)

  @number ~r/\A-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/

  defp number(rest) do
    [{0, len} | fraction_or_exponent] =
      Regex.run(@number, rest, return: :index) || fail("bad number", rest)

    <<text::binary-size(len), after_number::binary>> = rest

    parsed =
      if Enum.any?(fraction_or_exponent, fn {start, _} -> start >= 0 end),
        do: Float.parse(text),
        else: Integer.parse(text)

    case parsed do
      {n, ""} -> {n, after_number}
      _ -> fail("number #{text} is out of range", rest)
    end
  end

  defp string("\"" <> rest, acc), do: {IO.iodata_to_binary(Enum.reverse(acc)), rest}
  defp string("\\" <> rest, acc), do: escaped(rest, acc)

  defp string(<<c, _::binary>> = rest, _) when c < 0x20,
    do: fail("control character in a string", rest)

  defp string(rest, acc) when rest != "" do
    # The longest run of plain bytes, taken as one piece.
    len =
      case :binary.match(rest, ["\"", "\\"]) do
        {len, _} -> len
        :nomatch -> fail("unterminated string", "")
      end

    plain = binary_part(rest, 0, len)

    if i = Enum.find_index(:binary.bin_to_list(plain), &(&1 < 0x20)),
      do: fail("control character in a string", binary_part(rest, i, byte_size(rest) - i))

    if !String.valid?(plain), do: fail("invalid UTF-8 in a string", rest)
    string(binary_part(rest, len, byte_size(rest) - len), [plain | acc])
  end

  defp string("", _), do: fail("unterminated string", "")

  @hex_digits Enum.concat([?0..?9, ?a..?f, ?A..?F])
  @escapes %{
    ?" => "\"",
    ?\\ => "\\",
    ?/ => "/",
    ?b => "\b",
    ?f => "\f",
    ?n => "\n",
    ?r => "\r",
    ?t => "\t"
  }

  defp escaped(<<c, rest::binary>>, acc) when is_map_key(@escapes, c),
    do: string(rest, [@escapes[c] | acc])

  defp escaped("u" <> rest, acc) do
    {cp, rest} = hex4(rest)

    cond do
      cp in 0xD800..0xDBFF ->
        case rest do
          "\\u" <> low_rest ->
            {low, rest} = hex4(low_rest)
            if low not in 0xDC00..0xDFFF, do: fail("unpaired surrogate in \\u escape", low_rest)
            string(rest, [<<0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00)::utf8>> | acc])

          _ ->
            fail("unpaired surrogate in \\u escape", rest)
        end

      cp in 0xDC00..0xDFFF ->
        fail("unpaired surrogate in \\u escape", rest)

      true ->
        string(rest, [<<cp::utf8>> | acc])
    end
  end

  defp escaped(rest, _), do: fail("bad escape in a string", rest)

  defp hex4(<<a, b, c, d, rest::binary>>)
       when a in @hex_digits and b in @hex_digits and c in @hex_digits and d in @hex_digits,
       do: {String.to_integer(<<a, b, c, d>>, 16), rest}

  defp hex4(rest), do: fail("bad \\u escape", rest)
end
