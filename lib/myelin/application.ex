defmodule Myelin.Application do
  @moduledoc false
  # Starts the process that owns the compile cache of `Myelin.jit/2` and
  # `Myelin.value_and_grad/3` (an ETS table lives as long as its owner).

  use Application

  @impl true
  def start(_type, _args) do
    Supervisor.start_link([Myelin.CompileCache], strategy: :one_for_one, name: Myelin.Supervisor)
  end
end
