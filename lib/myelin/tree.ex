defmodule Myelin.Tree do
  @moduledoc """
  Nested containers of tensors: the arguments and results of functions
  given to `Myelin.grad/3` and `Myelin.jit/2`.

  A tree is a tensor, a number, or a tuple, list or map (not another
  struct) of trees. Tensors and numbers are its *leaves*; anything else
  (atoms, strings, other structs) is *static*: kept as it is and, under
  `Myelin.jit/2`, part of the compile-cache key. Maps are walked in key
  order, so a tree always flattens to the same leaf order.

      iex> {leaves, template} = Myelin.Tree.flatten(%{b: 2.0, a: {1, :tag}})
      iex> leaves
      [1, 2.0]
      iex> Myelin.Tree.unflatten(template, [10, 20])
      %{a: {10, :tag}, b: 20}
  """

  alias Myelin.Tensor

  @typedoc "A tensor, a number, or a tuple, list or map of trees."
  @type t :: term()

  @typedoc "A tree with its leaves taken out (see `flatten/1`)."
  @type template :: term()

  @doc "The leaves of `tree` in order, and the template to put leaves back with."
  @spec flatten(t()) :: {[Tensor.t() | number()], template()}
  def flatten(tree) do
    {template, leaves} = walk(tree, [])
    {Enum.reverse(leaves), template}
  end

  @doc """
  The tree of `template` with its leaves replaced, in order, by `leaves`.
  """
  @spec unflatten(template(), list()) :: t()
  def unflatten(template, leaves) do
    {tree, []} = fill(template, leaves)
    tree
  end

  @doc """
  Maps every leaf of `tree` through `fun`, keeping the structure.

      iex> Myelin.Tree.map([1, {2, :x}], &(&1 * 10))
      [10, {20, :x}]
  """
  @spec map(t(), (Tensor.t() | number() -> term())) :: t()
  def map(tree, fun) do
    {leaves, template} = flatten(tree)
    unflatten(template, Enum.map(leaves, fun))
  end

  @doc "True when `term` is a leaf: a tensor or a number."
  @spec leaf?(term()) :: boolean()
  def leaf?(%Tensor{}), do: true
  def leaf?(n) when is_number(n), do: true
  def leaf?(_), do: false

  # A leaf's slot in a template is `:__leaf__`, a reserved atom; a static
  # term is wrapped in `{:__static__, term}` so it can never be mistaken
  # for a slot.
  defp walk(%Tensor{} = t, acc), do: {:__leaf__, [t | acc]}
  defp walk(n, acc) when is_number(n), do: {:__leaf__, [n | acc]}

  defp walk(tuple, acc) when is_tuple(tuple) do
    {items, acc} = tuple |> Tuple.to_list() |> Enum.map_reduce(acc, &walk/2)
    {{:__tuple__, items}, acc}
  end

  defp walk(list, acc) when is_list(list) do
    {items, acc} = Enum.map_reduce(list, acc, &walk/2)
    {{:__list__, items}, acc}
  end

  defp walk(%_{} = struct, acc), do: {{:__static__, struct}, acc}

  defp walk(map, acc) when is_map(map) do
    {pairs, acc} =
      map
      |> Enum.sort_by(&elem(&1, 0))
      |> Enum.map_reduce(acc, fn {k, v}, acc ->
        {v, acc} = walk(v, acc)
        {{k, v}, acc}
      end)

    {{:__map__, pairs}, acc}
  end

  defp walk(other, acc), do: {{:__static__, other}, acc}

  defp fill(:__leaf__, [leaf | rest]), do: {leaf, rest}
  defp fill({:__static__, term}, leaves), do: {term, leaves}

  defp fill({:__tuple__, items}, leaves) do
    {items, leaves} = Enum.map_reduce(items, leaves, &fill/2)
    {List.to_tuple(items), leaves}
  end

  defp fill({:__list__, items}, leaves), do: Enum.map_reduce(items, leaves, &fill/2)

  defp fill({:__map__, pairs}, leaves) do
    {pairs, leaves} =
      Enum.map_reduce(pairs, leaves, fn {k, v}, leaves ->
        {v, leaves} = fill(v, leaves)
        {{k, v}, leaves}
      end)

    {Map.new(pairs), leaves}
  end
end
