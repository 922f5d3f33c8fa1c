defmodule Myelin.Tensor.Convolution do
  @moduledoc """
  Eager convolution, channels first, with Nx.conv/3's options. Call it
  through `Myelin.Tensor.conv/3`.
  """

  import Myelin.Tensor, only: [dispatch: 4, to_tensor: 1, validate_opts!: 3, rank: 1]

  @type t :: Myelin.Tensor.t()

  @doc """
  Convolves `input` `{N, C, *spatial}` (1 to 3 spatial axes) with `kernel`
  `{O, C / feature_group_size, *k}`, giving `{N, O, *out}` of the operands'
  merged float type. Options, as in Nx.conv/3:

    * `:strides` - a step per spatial axis, or one for all (default 1);
    * `:padding` - `:valid` (default), `:same` (output as large as the
      input at stride 1), or a `{low, high}` pair of non-negative zero
      paddings per spatial axis;
    * `:input_dilation` and `:kernel_dilation` - spacing of input and kernel
      elements, one per spatial axis or one for all (default 1);
    * `:feature_group_size` - channel groups (default 1).

      iex> input = Myelin.Tensor.iota({1, 1, 4}, type: :f32)
      iex> kernel = Myelin.Tensor.tensor([[[1.0, -1.0]]])
      iex> Myelin.Tensor.conv(input, kernel)
      #Myelin.Tensor<
        f32[1][1][3]
        [
          [
            [-1.0, -1.0, -1.0]
          ]
        ]
      >

      iex> input = Myelin.Tensor.ones({1, 1, 3, 3})
      iex> Myelin.Tensor.conv(input, Myelin.Tensor.ones({1, 1, 3, 3}), padding: :same) |> Myelin.Tensor.to_list()
      [[[[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]]]]
  """
  @spec conv(t() | number(), t() | number(), keyword()) :: t()
  def conv(input, kernel, opts \\ []) do
    {input, kernel} = {to_tensor(input), to_tensor(kernel)}
    allowed = [:strides, :padding, :input_dilation, :kernel_dilation, :feature_group_size]
    opts = validate_opts!(opts, allowed, :conv)
    spatial = rank(input) - 2

    if spatial < 1 do
      raise ArgumentError,
            "conv: expected an input of rank 3 or more ({N, C, *spatial}), got shape #{inspect(input.shape)}"
    end

    strides = per_axis!(Keyword.get(opts, :strides, 1), spatial, :strides)
    input_dilation = per_axis!(Keyword.get(opts, :input_dilation, 1), spatial, :input_dilation)
    kernel_dilation = per_axis!(Keyword.get(opts, :kernel_dilation, 1), spatial, :kernel_dilation)
    groups = Keyword.get(opts, :feature_group_size, 1)

    unless is_integer(groups) and groups >= 1 do
      raise ArgumentError,
            "conv: expected feature_group_size: to be a positive integer, got #{inspect(groups)}"
    end

    padding = padding!(Keyword.get(opts, :padding, :valid), kernel, kernel_dilation, spatial)
    # Multiply-adds: every output element reads C/groups * K inputs.
    work =
      div(Myelin.Tensor.size(input) * Myelin.Tensor.size(kernel), max(elem(input.shape, 1), 1))

    args = [input.ref, kernel.ref, strides, padding, input_dilation, kernel_dilation, groups]
    dispatch(work, :conv, :conv_dirty, args)
  end

  defp per_axis!(n, spatial, _key) when is_integer(n) and n >= 1, do: List.duplicate(n, spatial)

  defp per_axis!(list, spatial, key) when is_list(list) do
    if length(list) == spatial and Enum.all?(list, &(is_integer(&1) and &1 >= 1)) do
      list
    else
      bad_option!(key, list, spatial)
    end
  end

  defp per_axis!(other, spatial, key), do: bad_option!(key, other, spatial)

  defp bad_option!(key, value, spatial) do
    raise ArgumentError,
          "conv: expected #{key}: to be a positive integer or a list of #{spatial} of them, got #{inspect(value)}"
  end

  defp padding!(:valid, _kernel, _dilation, spatial), do: List.duplicate({0, 0}, spatial)

  # Nx's :same: the (dilated) kernel's size minus one, split with the odd
  # element after.
  defp padding!(:same, kernel, dilation, _spatial) do
    kernel.shape
    |> Tuple.to_list()
    |> Enum.drop(2)
    |> Enum.zip_with(dilation, fn k, d ->
      total = max((k - 1) * d, 0)
      {div(total, 2), total - div(total, 2)}
    end)
  end

  defp padding!(config, _kernel, _dilation, spatial) when is_list(config) do
    if length(config) == spatial and
         Enum.all?(
           config,
           &match?({lo, hi} when is_integer(lo) and is_integer(hi) and lo >= 0 and hi >= 0, &1)
         ) do
      config
    else
      raise ArgumentError,
            "conv: expected padding: to be :valid, :same or a list of #{spatial} {low, high} pairs of non-negative integers, got #{inspect(config)}"
    end
  end

  defp padding!(other, _kernel, _dilation, spatial) do
    raise ArgumentError,
          "conv: expected padding: to be :valid, :same or a list of #{spatial} {low, high} pairs of non-negative integers, got #{inspect(other)}"
  end
end
