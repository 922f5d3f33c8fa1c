if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.Conv do
    @moduledoc """
    `Nx.conv/3` for `Myelin.Backend` on the engine's convolution, which is
    channels-first with 1 to 3 spatial axes.

    Nx's options map onto it: permutations become transposes around it;
    negative padding crops the input first (when the input is not dilated,
    so the crop and Nx's padding of the dilated input agree);
    `batch_group_size: g` moves the `g` batch groups into the channels and
    convolves with `g` feature groups (group `j`, the `j`-th contiguous
    `1/g` of the batch, meets the `j`-th `1/g` of the kernels, as in
    `Nx.BinaryBackend`). Complex convolutions are four real ones
    (`Myelin.Backend.Complex.conv/3`). `engine?/2` says which convolutions
    this covers; `Myelin.Backend` sends the others to the counted fallback.
    """

    alias Myelin.Tensor, as: MT

    @doc "True when the engine computes this convolution (`input` is Nx's operand)."
    @spec engine?(Nx.Tensor.t(), keyword()) :: boolean()
    def engine?(%Nx.Tensor{shape: shape}, opts) do
      crops? = Enum.any?(opts[:padding], fn {lo, hi} -> lo < 0 or hi < 0 end)
      dilated? = Enum.any?(opts[:input_dilation], &(&1 != 1))

      tuple_size(shape) in 3..5 and
        (opts[:batch_group_size] == 1 or opts[:feature_group_size] == 1) and
        not (crops? and dilated?)
    end

    @doc """
    The convolution of engine tensors `input` and `kernel` (pair tensors
    when `complex?`) with Nx's conv options.
    """
    @spec conv(MT.t(), MT.t(), keyword(), boolean()) :: MT.t()
    def conv(input, kernel, opts, complex?) do
      batch_groups = opts[:batch_group_size]

      conv_opts =
        Keyword.take(opts, [:strides, :input_dilation, :kernel_dilation]) ++
          [
            padding: Enum.map(opts[:padding], fn {lo, hi} -> {max(lo, 0), max(hi, 0)} end),
            feature_group_size: opts[:feature_group_size] * batch_groups
          ]

      real_conv = fn input, kernel ->
        input
        |> permute(opts[:input_permutation])
        |> crop(opts[:padding])
        |> batch_groups_to_channels(batch_groups)
        |> MT.conv(permute(kernel, opts[:kernel_permutation]), conv_opts)
        |> permute(inverse_permutation(opts[:output_permutation]))
      end

      if complex?,
        do: Myelin.Backend.Complex.conv(input, kernel, real_conv),
        else: real_conv.(input, kernel)
    end

    # Negative padding removes input rows before the convolution.
    defp crop(input, padding) do
      if Enum.all?(padding, fn {lo, hi} -> lo >= 0 and hi >= 0 end) do
        input
      else
        config = Enum.map(padding, fn {lo, hi} -> {min(lo, 0), min(hi, 0), 0} end)
        MT.pad(input, 0, [{0, 0, 0}, {0, 0, 0} | config])
      end
    end

    # [b, c | spatial] -> [b/g, g*c | spatial], group j being the j-th
    # contiguous b/g of the batch.
    defp batch_groups_to_channels(input, 1), do: input

    defp batch_groups_to_channels(%MT{shape: shape} = input, groups) do
      [batch, channels | spatial] = Tuple.to_list(shape)
      rank = tuple_size(shape) + 1

      input
      |> MT.reshape(List.to_tuple([groups, div(batch, groups), channels | spatial]))
      |> MT.transpose(axes: [1, 0 | Enum.to_list(2..(rank - 1))])
      |> MT.reshape(List.to_tuple([div(batch, groups), groups * channels | spatial]))
    end

    defp permute(%MT{} = t, nil), do: t

    defp permute(%MT{} = t, axes) do
      if axes == Enum.to_list(0..(length(axes) - 1)), do: t, else: MT.transpose(t, axes: axes)
    end

    defp inverse_permutation(nil), do: nil

    defp inverse_permutation(perm),
      do: perm |> Enum.with_index() |> Enum.sort() |> Enum.map(&elem(&1, 1))
  end
end
