if Code.ensure_loaded?(Nx) do
  defmodule Myelin.NxDoctestTest do
    # Nx's own doctests with Myelin.Backend as the default backend.
    use ExUnit.Case, async: true

    setup do
      Nx.default_backend(Myelin.Backend)
      :ok
    end

    doctest Nx, except: [:moduledoc]
  end

  defmodule Myelin.NxLinAlgDoctestTest do
    use ExUnit.Case, async: true
    import Nx, only: :sigils

    setup do
      Nx.default_backend(Myelin.Backend)
      :ok
    end

    doctest Nx.LinAlg
  end

  defmodule Myelin.NxRandomDoctestTest do
    use ExUnit.Case, async: true

    setup do
      Nx.default_backend(Myelin.Backend)
      :ok
    end

    doctest Nx.Random
  end

  defmodule Myelin.NxOtherDoctestTest do
    use ExUnit.Case, async: true

    setup do
      Nx.default_backend(Myelin.Backend)
      Nx.Defn.default_options(compiler: Nx.Defn.Evaluator)
      :ok
    end

    doctest Nx.Constants
    doctest Nx.Batch
    doctest Nx.Defn

    describe "Nx.Defn.Kernel" do
      use Nx.Defn.Kernel
      doctest Nx.Defn.Kernel
    end
  end
end
