defmodule Myelin.Application do
  @moduledoc false
  # Starts the process that owns the compile cache of `Myelin.jit/2` and
  # `Myelin.value_and_grad/3` (an ETS table lives as long as its owner).

  use Application

  @impl true
  def start(_type, _args) do
    # The Nx backend's fallback counters (compiled only with Nx).
    fallback = Myelin.Backend.Fallback
    if Code.ensure_loaded?(fallback), do: apply(fallback, :init, [])

    Supervisor.start_link([Myelin.CompileCache], strategy: :one_for_one, name: Myelin.Supervisor)
  end
end
