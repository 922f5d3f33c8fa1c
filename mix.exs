defmodule Mix.Tasks.Compile.MyelinNif do
  @moduledoc """
  Builds Myelin's native library with cargo (release profile, whatever
  MIX_ENV is) and copies it to `priv/`. Skips cargo entirely when the library
  is newer than every Rust source, so a no-op `mix compile` stays fast.
  """
  use Mix.Task.Compiler

  @crate "myelin_nif"

  @impl true
  def run(_args) do
    root = Path.dirname(Mix.Project.project_file())
    target = Path.join([root, "priv", "lib#{@crate}.so"])

    if stale?(root, target) do
      build(root, target)
    else
      {:noop, []}
    end
  end

  defp stale?(root, target) do
    case File.stat(target, time: :posix) do
      {:ok, %{mtime: built}} ->
        sources =
          Path.wildcard(Path.join(root, "native/**/*.{rs,toml,cu}")) ++
            Enum.map(["Cargo.toml", "Cargo.lock"], &Path.join(root, &1))

        Enum.any?(sources, fn src ->
          match?({:ok, %{mtime: m}} when m >= built, File.stat(src, time: :posix))
        end)

      {:error, _} ->
        true
    end
  end

  defp build(root, target) do
    cargo = System.find_executable("cargo")

    unless cargo do
      Mix.raise("""
      Myelin needs Rust's cargo to build its native library, and cargo is not on PATH.
      Install a Rust toolchain (rustup, or Debian's `apt-get install cargo rustc`; Rust 1.91 or newer)
      and run `mix compile` again.
      """)
    end

    Mix.shell().info("Compiling Myelin's native library with cargo (release)")
    args = ["build", "--release", "--package", @crate, "--message-format", "short"]
    # MYELIN_CUDA=0 builds without CUDA support (myelin_cuda's stub): a
    # smaller library for targets that never have an NVIDIA GPU.
    args =
      if System.get_env("MYELIN_CUDA") == "0", do: args ++ ["--no-default-features"], else: args

    case System.cmd(cargo, args, cd: root, stderr_to_stdout: true, into: IO.stream(:stdio, :line)) do
      {_, 0} ->
        copy_library(root, target)
        {:ok, []}

      {_, status} ->
        Mix.raise(
          "cargo build of the #{@crate} crate failed (exit status #{status}); the errors are printed above"
        )
    end
  end

  defp copy_library(root, target) do
    target_dir = System.get_env("CARGO_TARGET_DIR") || Path.join(root, "target")

    built =
      Enum.find(["so", "dylib"], fn ext ->
        File.exists?(Path.join([target_dir, "release", "lib#{@crate}.#{ext}"]))
      end)

    unless built do
      Mix.raise(
        "cargo reported success but lib#{@crate}.so was not found in #{target_dir}/release"
      )
    end

    File.mkdir_p!(Path.dirname(target))
    # Copy to a temporary name and rename: a running VM that has the old
    # library mapped keeps a valid file.
    tmp = target <> ".tmp"
    File.cp!(Path.join([target_dir, "release", "lib#{@crate}.#{built}"]), tmp)
    File.rename!(tmp, target)
    # priv/ may not have existed when Mix linked the app's build directory.
    Mix.Project.build_structure()
  end
end

defmodule Myelin.MixProject do
  use Mix.Project

  def project do
    [
      app: :myelin,
      version: "0.1.0",
      elixir: "~> 1.14",
      compilers: [:myelin_nif] ++ Mix.compilers(),
      start_permanent: Mix.env() == :prod,
      elixirc_paths: elixirc_paths(Mix.env()),
      # A build with Nx compiles Myelin.Backend; a separate build directory
      # makes switching NX_PATH on and off recompile it (Mix does not track
      # the `Code.ensure_loaded?(Nx)` guard).
      build_path: if(System.get_env("NX_PATH"), do: "_build/with_nx", else: "_build"),
      deps: deps()
    ]
  end

  # Nx is optional: Myelin.Backend (the Nx backend) is compiled only when Nx
  # is present. NX_PATH points at a local Nx checkout (docs/NX_BACKEND.md
  # says how to build one without Hex); otherwise, where Hex is installed,
  # Nx comes from hex.pm. Without either (an offline machine) there is no Nx
  # and everything else builds and tests as usual.
  defp deps do
    cond do
      path = System.get_env("NX_PATH") -> [{:nx, path: path, optional: true}]
      Code.ensure_loaded?(Hex) -> [{:nx, "~> 0.7", optional: true}]
      true -> []
    end
  end

  def application do
    [extra_applications: [:logger], mod: {Myelin.Application, []}]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
