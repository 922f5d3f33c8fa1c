defmodule Myelin.Layers.Conv do
  @moduledoc """
  Convolution and pooling layers. The engine computes them channels first
  (`{n, c, *spatial}`); with `channels: :last` (Axon's default) the layer
  transposes in and out. Kernels are `{out, in / groups, *kernel_size}` as
  in Nx and PyTorch.
  """

  alias Myelin.Tensor, as: T

  @doc "The kernel and bias of a convolution over inputs of `shape`."
  @spec params(tuple(), keyword()) :: [Myelin.Layers.param()]
  def params(shape, opts) do
    spatial = tuple_size(shape) - 2
    in_ch = elem(shape, channel_axis(shape, opts))
    groups = Keyword.get(opts, :feature_group_size, 1)
    size = expand(Keyword.get(opts, :kernel_size, 1), spatial)
    kernel_shape = List.to_tuple([opts[:units], div(in_ch, groups) | size])
    kernel = {"kernel", kernel_shape, opts[:kernel_initializer] || :glorot_uniform}
    bias = {"bias", {opts[:units]}, opts[:bias_initializer] || :zeros}
    if Keyword.get(opts, :use_bias, true), do: [kernel, bias], else: [kernel]
  end

  @doc "Applies a convolution layer to `x` with parameters `p`."
  @spec conv(T.t(), map(), keyword()) :: T.t()
  def conv(x, p, opts) do
    with_channels_first(x, opts, fn x ->
      {spatial, size, strides, kd} = geometry(x, p, opts)
      id = expand(Keyword.get(opts, :input_dilation, 1), spatial)
      in_spatial = x.shape |> Tuple.to_list() |> Enum.drop(2)
      padding = padding(Keyword.get(opts, :padding, :valid), in_spatial, size, strides, kd)
      groups = Keyword.get(opts, :feature_group_size, 1)
      convolve(x, p, [strides, padding, id, kd, groups])
    end)
  end

  @doc """
  Applies a transposed convolution layer (Axon's `conv_transpose`): a
  convolution at stride 1 of the input dilated by the strides, padded as
  Axon pads it.
  """
  @spec conv_transpose(T.t(), map(), keyword()) :: T.t()
  def conv_transpose(x, p, opts) do
    with_channels_first(x, opts, fn x ->
      {spatial, size, strides, kd} = geometry(x, p, opts)
      padding = transpose_padding(Keyword.get(opts, :padding, :valid), size, strides, kd)
      convolve(x, p, [List.duplicate(1, spatial), padding, strides, kd, 1])
    end)
  end

  # Spatial rank, kernel size, strides and kernel dilation, per spatial dim.
  defp geometry(x, p, opts) do
    spatial = tuple_size(x.shape) - 2
    size = p["kernel"].shape |> Tuple.to_list() |> Enum.drop(2)
    strides = expand(Keyword.get(opts, :strides, 1), spatial)
    {spatial, size, strides, expand(Keyword.get(opts, :kernel_dilation, 1), spatial)}
  end

  # The engine's conv (with its fused gradient), then the bias.
  defp convolve(x, p, [strides, padding, input_dilation, kernel_dilation, groups]) do
    args = [x, p["kernel"], strides, padding, input_dilation, kernel_dilation, groups]
    y = Myelin.Graph.record_fused(:conv, args)

    if p["bias"] do
      dims = [1, elem(p["bias"].shape, 0) | List.duplicate(1, tuple_size(x.shape) - 2)]
      T.add(y, T.reshape(p["bias"], List.to_tuple(dims)))
    else
      y
    end
  end

  # Axon.Shape.conv_transpose_padding: the padding of the dilated input
  # for :valid and :same, from the dilated kernel size k and the stride s;
  # explicit padding is used as given.
  defp transpose_padding(padding, size, strides, kernel_dilation)
       when padding in [:valid, :same] do
    [size, kernel_dilation, strides]
    |> Enum.zip()
    |> Enum.map(fn {k, d, s} ->
      k = (k - 1) * d + 1

      case padding do
        :valid ->
          {k - 1, s - 1 + max(k - s, 0)}

        :same ->
          total = k + s - 2
          low = if s > k - 1, do: k - 1, else: div(total + 1, 2)
          {low, total - low}
      end
    end)
  end

  defp transpose_padding(list, _size, _strides, _dil) when is_list(list), do: list

  @doc "Applies windowed max or average pooling."
  @spec pool(:max | :avg, T.t(), keyword()) :: T.t()
  def pool(kind, x, opts) do
    with_channels_first(x, opts, fn x ->
      spatial = tuple_size(x.shape) - 2
      size = expand(Keyword.get(opts, :kernel_size, 2), spatial)
      strides = expand(Keyword.get(opts, :strides, size), spatial)
      in_spatial = x.shape |> Tuple.to_list() |> Enum.drop(2)
      ones = List.duplicate(1, spatial)
      padding = padding(Keyword.get(opts, :padding, :valid), in_spatial, size, strides, ones)
      Myelin.Graph.record_fused(:pool, [kind, x, size, strides, padding])
    end)
  end

  @doc "Applies adaptive pooling to `output_size:`."
  @spec adaptive_pool(:max | :avg, T.t(), keyword()) :: T.t()
  def adaptive_pool(kind, x, opts) do
    with_channels_first(x, opts, fn x ->
      size = expand(opts[:output_size], tuple_size(x.shape) - 2)
      Myelin.Graph.record_fused(:adaptive_pool, [kind, x, size])
    end)
  end

  @doc "Global pooling: one value per example and channel, `{n, c}` (`keep_axes: true` keeps the spatial axes)."
  @spec global_pool(:max | :avg, T.t(), keyword()) :: T.t()
  def global_pool(kind, x, opts) do
    axes = spatial_axes(x.shape, opts)
    keep = Keyword.get(opts, :keep_axes, false)

    if kind == :max,
      do: T.reduce_max(x, axes: axes, keep_axes: keep),
      else: T.mean(x, axes: axes, keep_axes: keep)
  end

  defp spatial_axes(shape, opts) do
    rank = tuple_size(shape)

    if Keyword.get(opts, :channels, :last) == :first,
      do: Enum.to_list(2..(rank - 1)),
      else: Enum.to_list(1..(rank - 2))
  end

  defp channel_axis(shape, opts),
    do: if(Keyword.get(opts, :channels, :last) == :first, do: 1, else: tuple_size(shape) - 1)

  defp with_channels_first(x, opts, fun) do
    case Keyword.get(opts, :channels, :last) do
      :first ->
        fun.(x)

      :last ->
        rank = tuple_size(x.shape)
        y = fun.(T.transpose(x, axes: [0, rank - 1 | Enum.to_list(1..(rank - 2))]))
        T.transpose(y, axes: [0 | Enum.to_list(2..(rank - 1))] ++ [1])
    end
  end

  defp expand(n, spatial) when is_integer(n), do: List.duplicate(n, spatial)
  defp expand(t, _spatial) when is_tuple(t), do: Tuple.to_list(t)
  defp expand(l, _spatial) when is_list(l), do: l

  # :valid, :same (output size ceil(in / stride), as Keras and Axon), or
  # explicit [{low, high}] per spatial dim.
  defp padding(:valid, in_spatial, _size, _strides, _dil),
    do: Enum.map(in_spatial, fn _ -> {0, 0} end)

  defp padding(:same, in_spatial, size, strides, dil) do
    [in_spatial, size, strides, dil]
    |> Enum.zip()
    |> Enum.map(fn {n, k, s, d} ->
      out = div(n + s - 1, s)
      total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
      {div(total, 2), total - div(total, 2)}
    end)
  end

  defp padding(list, _in, _size, _strides, _dil) when is_list(list), do: list
end
