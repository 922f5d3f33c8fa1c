defmodule Myelin.Schedules do
  @moduledoc """
  Learning-rate schedules: functions of the step (from 0) returning the
  rate, to pass as `learning_rate:` to any optimizer.

      iex> s = Myelin.Schedules.exponential_decay(0.1, decay_rate: 0.5, transition_steps: 10)
      iex> s.(20)
      0.025
  """

  @type t :: (non_neg_integer() -> float())

  @doc "The same rate at every step."
  @spec constant(number()) :: t()
  def constant(rate), do: fn _step -> rate * 1.0 end

  @doc """
  Multiplies the rate by `gamma:` (0.1) every `step_size:` steps (PyTorch's StepLR).

      iex> Myelin.Schedules.step_decay(1.0, step_size: 2, gamma: 0.5).(5)
      0.25
  """
  @spec step_decay(number(), keyword()) :: t()
  def step_decay(rate, opts) do
    size = Keyword.fetch!(opts, :step_size)
    gamma = Keyword.get(opts, :gamma, 0.1)
    fn step -> rate * :math.pow(gamma, div(step, size)) end
  end

  @doc "rate * decay_rate^(step / transition_steps) (continuous unless `staircase: true`)."
  @spec exponential_decay(number(), keyword()) :: t()
  def exponential_decay(rate, opts) do
    decay = Keyword.get(opts, :decay_rate, 0.5)
    steps = Keyword.get(opts, :transition_steps, 1000)
    staircase = Keyword.get(opts, :staircase, false)

    fn step ->
      p = if staircase, do: div(step, steps), else: step / steps
      rate * :math.pow(decay, p)
    end
  end

  @doc """
  Cosine decay from `rate` to `alpha * rate` over `decay_steps:`, after a
  linear warmup of `warmup_steps:` (default 0) from 0.

      iex> s = Myelin.Schedules.cosine_decay(1.0, decay_steps: 10, warmup_steps: 2)
      iex> {s.(1), s.(2), s.(12)}
      {0.5, 1.0, 0.0}
  """
  @spec cosine_decay(number(), keyword()) :: t()
  def cosine_decay(rate, opts) do
    steps = Keyword.fetch!(opts, :decay_steps)
    warmup = Keyword.get(opts, :warmup_steps, 0)
    alpha = Keyword.get(opts, :alpha, 0.0)

    fn
      step when step < warmup ->
        rate * step / warmup

      step ->
        t = min(step - warmup, steps) / steps
        cos = 0.5 * (1 + :math.cos(:math.pi() * t))
        rate * ((1 - alpha) * cos + alpha)
    end
  end

  @doc "Polynomial decay from `rate` to `end_value:` over `decay_steps:` with `power:` (1.0)."
  @spec polynomial_decay(number(), keyword()) :: t()
  def polynomial_decay(rate, opts) do
    steps = Keyword.fetch!(opts, :decay_steps)
    final = Keyword.get(opts, :end_value, 0.0)
    power = Keyword.get(opts, :power, 1.0)
    fn step -> (rate - final) * :math.pow(1 - min(step, steps) / steps, power) + final end
  end

  @doc """
  One-cycle (PyTorch's OneCycleLR, cosine): from `max_rate / div_factor`
  (25) up to `max_rate` over `pct_start` (0.3) of `total_steps:`, then down
  to `initial / final_div_factor` (1.0e4).
  """
  @spec one_cycle(number(), keyword()) :: t()
  def one_cycle(max_rate, opts) do
    total = Keyword.fetch!(opts, :total_steps)
    initial = max_rate / Keyword.get(opts, :div_factor, 25.0)
    final = initial / Keyword.get(opts, :final_div_factor, 1.0e4)
    up = Keyword.get(opts, :pct_start, 0.3) * total - 1

    anneal = fn from, to, pct -> to + (from - to) / 2 * (1 + :math.cos(:math.pi() * pct)) end

    fn step ->
      if step <= up,
        do: anneal.(initial, max_rate, step / up),
        else: anneal.(max_rate, final, min((step - up) / (total - 1 - up), 1.0))
    end
  end
end
