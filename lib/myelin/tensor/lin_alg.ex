defmodule Myelin.Tensor.LinAlg do
  @moduledoc """
  Linear algebra on the last two axes of float tensors, batched over the
  leading ones, with the algorithms and conventions of Nx.BinaryBackend
  (so `Nx.LinAlg` on Myelin.Backend gives the same results): computed in
  f64, rounded once to the input's type.
  """

  import Myelin.Tensor, only: [dispatch: 4, to_tensor: 1, validate_opts!: 3, size: 1]

  alias Myelin.Native

  @type t :: Myelin.Tensor.t()

  @doc """
  The LU decomposition `{p, l, u}` of square matrices, with `a = p · l · u`:
  `p` a permutation, `l` unit lower triangular, `u` upper triangular.
  Entries smaller than `eps:` (default 1.0e-10) are zeroed.

      iex> a = Myelin.Tensor.tensor([[1.0, 2.0], [3.0, 4.0]])
      iex> {p, l, u} = Myelin.Tensor.LinAlg.lu(a)
      iex> {Myelin.Tensor.to_list(p), Myelin.Tensor.to_list(l), Myelin.Tensor.to_list(u)}
      {[[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.3333333432674408, 1.0]], [[3.0, 4.0], [0.0, 0.6666666865348816]]}
  """
  @spec lu(t(), keyword()) :: {t(), t(), t()}
  def lu(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:eps], :lu)
    eps = Keyword.get(opts, :eps, 1.0e-10) / 1
    call(cubic_work(t), :lu, :lu_dirty, [t.ref, eps])
  end

  @doc """
  Solves `a · x = b` (or `x · a = b` with `left_side: false`) for a
  triangular `a` (`lower: true`, the default, reads its lower triangle; the
  other triangle is ignored). `transform_a: :transpose` solves with `aᵀ`.
  `b` is `{..., n}` or `{..., n, m}`; `a` and `b` must have the same float
  type. A zero on `a`'s diagonal is an error.

      iex> a = Myelin.Tensor.tensor([[2.0, 0.0], [1.0, 4.0]])
      iex> Myelin.Tensor.LinAlg.triangular_solve(a, Myelin.Tensor.tensor([2.0, 9.0])) |> Myelin.Tensor.to_list()
      [1.0, 2.0]
  """
  @spec triangular_solve(t(), t(), keyword()) :: t()
  def triangular_solve(a, b, opts \\ []) do
    {a, b} = {to_tensor(a), to_tensor(b)}
    opts = validate_opts!(opts, [:lower, :left_side, :transform_a], :triangular_solve)

    transpose =
      case Keyword.get(opts, :transform_a, :none) do
        :none ->
          false

        :transpose ->
          true

        other ->
          raise ArgumentError,
                "triangular_solve: expected transform_a: to be :none or :transpose, got #{inspect(other)}"
      end

    lower = bool!(opts, :lower, true)
    left = bool!(opts, :left_side, true)
    work = size(a) + size(a) * size(b)

    dispatch(work, :triangular_solve, :triangular_solve_dirty, [
      a.ref,
      b.ref,
      lower,
      left,
      transpose
    ])
  end

  @doc """
  The eigen-decomposition `{eigenvalues, eigenvectors}` of symmetric
  matrices (eigenvectors as columns), by Nx.BinaryBackend's QR iterations:
  at most `max_iter:` (default 1000), stopping when an iteration changes
  the vectors by at most `eps:` (default 1.0e-4). A matrix that is not
  symmetric (to `eps`) is an error.

      iex> {values, _vectors} = Myelin.Tensor.LinAlg.eigh(Myelin.Tensor.tensor([[2.0, 0.0], [0.0, 1.0]]))
      iex> Myelin.Tensor.to_list(values)
      [2.0, 1.0]
  """
  @spec eigh(t(), keyword()) :: {t(), t()}
  def eigh(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:eps, :max_iter], :eigh)
    eps = Keyword.get(opts, :eps, 1.0e-4) / 1
    max_iter = Keyword.get(opts, :max_iter, 1000)
    call(cubic_work(t) * 10, :eigh, :eigh_dirty, [t.ref, eps, max_iter])
  end

  defp cubic_work(t) do
    case tuple_size(t.shape) do
      r when r >= 2 -> size(t) * elem(t.shape, r - 1)
      _ -> size(t)
    end
  end

  # NIFs returning a tuple of tensors.
  defp call(work, normal, dirty, [ref | _] = args) do
    if Myelin.Graph.traced?(ref) do
      raise ArgumentError,
            "#{normal}: cannot be traced by Myelin.grad or Myelin.jit (no graph rule yet)"
    end

    fun = if work >= Myelin.Tensor.dirty_threshold(), do: dirty, else: normal

    Native
    |> apply(fun, args)
    |> Native.unwrap!()
    |> Tuple.to_list()
    |> Enum.map(&Myelin.Tensor.wrap/1)
    |> List.to_tuple()
  end

  defp bool!(opts, key, default) do
    case Keyword.get(opts, key, default) do
      b when is_boolean(b) ->
        b

      other ->
        raise ArgumentError,
              "triangular_solve: expected #{key}: to be a boolean, got #{inspect(other)}"
    end
  end
end
