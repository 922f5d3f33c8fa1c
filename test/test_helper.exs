# Tagged tests that need more than the default machine (e.g. :memory, which
# allocates gigabytes) run by default; exclude them with --exclude memory.
unless Code.ensure_loaded?(Nx) do
  IO.puts(
    "Skipping the Nx backend tests (test/nx): Nx is not available. " <>
      "Set NX_PATH to a local Nx 0.7 checkout to run them (docs/NX_BACKEND.md)."
  )
end

# GPU tests (tag :cuda) run only where CUDA and a GPU are usable.
cuda_exclusions =
  case Myelin.Device.cuda_unavailable_reason() do
    nil ->
      []

    reason ->
      IO.puts("Skipping the CUDA tests (tag :cuda): #{reason}")
      [:cuda]
  end

ExUnit.start(exclude: cuda_exclusions)
