defmodule Myelin.Optimizers do
  @moduledoc """
  Optimizers, as configuration: the engine applies the update in one fused
  loop over all parameters, with PyTorch's update rules (`torch.optim`).
  Polaris' names and options, so `Polaris.Optimizers.adam(learning_rate:
  1.0e-3)` becomes `Myelin.Optimizers.adam(learning_rate: 1.0e-3)`.

  Every optimizer takes `learning_rate:` (a number, or a schedule from
  `Myelin.Schedules`: a function of the step), `weight_decay:` (default 0),
  `clip_norm:` (clip gradients to this global L2 norm) or `clip_value:`.

      iex> opt = Myelin.Optimizers.adam(learning_rate: 1.0e-3)
      iex> {opt.kind, opt.hyper}
      {:adam, [0.9, 0.999, 1.0e-8]}
  """

  defstruct [:kind, :hyper, :learning_rate, weight_decay: 0.0, clip: {:none, 0.0}]

  @type t :: %__MODULE__{
          kind: atom(),
          hyper: [float()],
          learning_rate: number() | (non_neg_integer() -> number()),
          weight_decay: float(),
          clip: {:none | :global_norm | :value, float()}
        }

  @common [:learning_rate, :weight_decay, :clip_norm, :clip_value]

  @doc "SGD with `momentum:` (default 0) and `nesterov:` (default false); lr default 0.01."
  @spec sgd(keyword()) :: t()
  def sgd(opts \\ []) do
    opts = check!(opts, [:momentum, :nesterov], :sgd)
    nesterov = if opts[:nesterov], do: 1.0, else: 0.0
    build(:sgd, [num(opts, :momentum, 0.0), nesterov], opts, 0.01)
  end

  @doc "Adam: `b1:` 0.9, `b2:` 0.999, `eps:` 1.0e-8; lr default 1.0e-3."
  @spec adam(keyword()) :: t()
  def adam(opts \\ []) do
    opts = check!(opts, [:b1, :b2, :eps], :adam)

    build(
      :adam,
      [num(opts, :b1, 0.9), num(opts, :b2, 0.999), num(opts, :eps, 1.0e-8)],
      opts,
      1.0e-3
    )
  end

  @doc "AdamW (decoupled weight decay, default 0.01 as in PyTorch); otherwise as `adam/1`."
  @spec adamw(keyword()) :: t()
  def adamw(opts \\ []) do
    opts = check!(opts, [:b1, :b2, :eps], :adamw)
    opts = Keyword.put_new(opts, :weight_decay, 0.01)

    build(
      :adamw,
      [num(opts, :b1, 0.9), num(opts, :b2, 0.999), num(opts, :eps, 1.0e-8)],
      opts,
      1.0e-3
    )
  end

  @doc "RMSprop: `decay:` 0.99 (PyTorch's alpha), `eps:` 1.0e-8, `momentum:` 0, `centered:` false; lr 0.01."
  @spec rmsprop(keyword()) :: t()
  def rmsprop(opts \\ []) do
    opts = check!(opts, [:decay, :eps, :momentum, :centered], :rmsprop)
    centered = if opts[:centered], do: 1.0, else: 0.0

    hyper = [
      num(opts, :decay, 0.99),
      num(opts, :eps, 1.0e-8),
      num(opts, :momentum, 0.0),
      centered
    ]

    build(:rmsprop, hyper, opts, 0.01)
  end

  @doc "Adagrad: `eps:` 1.0e-10, `initial_accumulator_value:` 0; lr 0.01."
  @spec adagrad(keyword()) :: t()
  def adagrad(opts \\ []) do
    opts = check!(opts, [:eps, :initial_accumulator_value], :adagrad)

    build(
      :adagrad,
      [num(opts, :eps, 1.0e-10), num(opts, :initial_accumulator_value, 0.0)],
      opts,
      0.01
    )
  end

  @doc "LAMB: `b1:` 0.9, `b2:` 0.999, `eps:` 1.0e-6; lr 1.0e-3."
  @spec lamb(keyword()) :: t()
  def lamb(opts \\ []) do
    opts = check!(opts, [:b1, :b2, :eps], :lamb)

    build(
      :lamb,
      [num(opts, :b1, 0.9), num(opts, :b2, 0.999), num(opts, :eps, 1.0e-6)],
      opts,
      1.0e-3
    )
  end

  @doc """
  The learning rate at `step` (counting from 0).

      iex> Myelin.Optimizers.learning_rate(Myelin.Optimizers.sgd(learning_rate: 0.5), 10)
      0.5
  """
  @spec learning_rate(t(), non_neg_integer()) :: float()
  def learning_rate(%__MODULE__{learning_rate: lr}, step) when is_function(lr, 1),
    do: lr.(step) * 1.0

  def learning_rate(%__MODULE__{learning_rate: lr}, _step), do: lr * 1.0

  defp build(kind, hyper, opts, default_lr) do
    clip =
      cond do
        opts[:clip_norm] -> {:global_norm, num(opts, :clip_norm, 0.0)}
        opts[:clip_value] -> {:value, num(opts, :clip_value, 0.0)}
        true -> {:none, 0.0}
      end

    lr = Keyword.get(opts, :learning_rate, default_lr)

    unless is_number(lr) or is_function(lr, 1) do
      raise ArgumentError,
            "#{kind}: expected learning_rate: to be a number or a schedule (a function of the step), got #{inspect(lr)}"
    end

    %__MODULE__{
      kind: kind,
      hyper: hyper,
      learning_rate: lr,
      weight_decay: num(opts, :weight_decay, 0.0),
      clip: clip
    }
  end

  defp check!(opts, own, name), do: Myelin.Tensor.validate_opts!(opts, own ++ @common, name)

  defp num(opts, key, default) do
    case Keyword.get(opts, key, default) do
      v when is_number(v) -> v * 1.0
      v -> raise ArgumentError, "optimizer: expected #{key}: to be a number, got #{inspect(v)}"
    end
  end
end
