defmodule Myelin.Datasets.Batching do
  @moduledoc false
  # Batches and splits examples along axis 0, in order or in a shuffled
  # order that depends only on the seed (and the epoch): the permutation is
  # the argsort of the engine's counter-based uniform numbers, which are the
  # same on every machine and for any number of threads.

  import Bitwise

  alias Myelin.Tensor

  @mask 0xFFFF_FFFF_FFFF_FFFF
  @gamma 0x9E37_79B9_7F4A_7C15

  # Salts that keep the orders of batch/3 and split/3 apart when they are
  # given the same seed.
  @salts %{batch: 0, split: 1}

  @spec batches(Tensor.t(), Tensor.t() | nil, pos_integer(), keyword()) :: Enumerable.t()
  def batches(x, y, n, opts) do
    size = Keyword.fetch!(opts, :batch_size)
    count = if opts[:drop_remainder], do: div(n, size), else: div(n + size - 1, size)

    # The permutation is computed when the stream starts, not when it is
    # built, and each batch is gathered only when it is consumed.
    Stream.transform(
      0..(count - 1)//1,
      fn -> if opts[:shuffle], do: permutation(n, seed(:batch, opts[:seed], opts[:epoch])) end,
      fn i, perm ->
        start = i * size
        len = min(size, n - start)
        {[{rows(x, perm, start, len), rows(y, perm, start, len)}], perm}
      end,
      fn _ -> :ok end
    )
  end

  @spec split(Tensor.t(), Tensor.t() | nil, pos_integer(), pos_integer(), boolean(), integer()) ::
          {{Tensor.t(), Tensor.t() | nil}, {Tensor.t(), Tensor.t() | nil}}
  def split(x, y, n, n_val, shuffle?, seed) do
    perm = if shuffle?, do: permutation(n, seed(:split, seed, 0))
    n_train = n - n_val

    {{rows(x, perm, 0, n_train), rows(y, perm, 0, n_train)},
     {rows(x, perm, n_train, n_val), rows(y, perm, n_train, n_val)}}
  end

  # Rows start..start+len-1 of the (permuted) order along axis 0.
  defp rows(nil, _perm, _start, _len), do: nil

  defp rows(t, nil, start, len) do
    [_ | rest] = Tuple.to_list(t.shape)
    Tensor.slice(t, [start | Enum.map(rest, fn _ -> 0 end)], [len | rest])
  end

  defp rows(t, perm, start, len), do: Tensor.take(t, Tensor.slice(perm, [start], [len]), axis: 0)

  # f64 uniforms have 53 random bits, so ties (broken by position, since
  # argsort is stable) are vanishingly rare even for millions of examples.
  defp permutation(n, seed),
    do: {n} |> Tensor.random_uniform(type: {:f, 64}, seed: seed) |> Tensor.argsort()

  # One engine seed per (salt, seed, epoch). The engine's stream for seed s
  # is mix(s + i*gamma), so seeds must not be derived by adding small
  # numbers (seed + epoch would give epoch 1 the stream of epoch 0 shifted by
  # one); SplitMix64's mixer, a bijection, scrambles them first.
  defp seed(salt, seed, epoch) do
    mix(bxor(mix(seed + Map.fetch!(@salts, salt) * @gamma &&& @mask), epoch))
  end

  defp mix(z) do
    z = bxor(z, z >>> 30) * 0xBF58_476D_1CE4_E5B9 &&& @mask
    z = bxor(z, z >>> 27) * 0x94D0_49BB_1331_11EB &&& @mask
    bxor(z, z >>> 31)
  end
end
