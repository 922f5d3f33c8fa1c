if Code.ensure_loaded?(Nx) do
  defmodule Myelin.NxDoctestSetup do
    # NX_DOCTEST_BACKEND=binary runs the same doctests on Nx.BinaryBackend
    # with no exclusions: the baseline the counts in docs/NX_BACKEND.md
    # compare against.
    @baseline System.get_env("NX_DOCTEST_BACKEND") == "binary"

    def backend, do: if(@baseline, do: Nx.BinaryBackend, else: Myelin.Backend)
    def except(list), do: if(@baseline, do: [], else: list)

    # Nx 0.13's behaviour (block/4) rather than 0.7's.
    def nx13?, do: {:block, 4} in Nx.Backend.behaviour_info(:callbacks)
  end

  defmodule Myelin.NxDoctestTest do
    # Nx's own doctests with Myelin.Backend as the default backend. Each
    # group of exclusions says why; docs/NX_BACKEND.md lists them too.
    use ExUnit.Case, async: true

    @complex_doctests []

    # Nx 0.13's sub-byte types (s2, s4, u2, u4) and f8 types are not in
    # Myelin's engine (Myelin.Backend raises a clear error for them).
    @type_doctests []

    # Last-digit float differences. tanh: Myelin's vectorized f32 tanh is
    # within 1.24 ulp (BinaryBackend rounds the f64 result). erf_inv:
    # Myelin's is correctly rounded; Nx's (Giles' approximation) is an ulp
    # off for some inputs. acosh, cosh, erfc, log1p (Nx 0.13's f64
    # examples): Myelin's f64 functions (the libm crate, musl's algorithms)
    # differ from glibc's, which BinaryBackend uses, by an ulp at times.
    @precision_doctests [tanh: 1, erf_inv: 1] ++
                          if(Myelin.NxDoctestSetup.nx13?(),
                            do: [acosh: 1, cosh: 1, erfc: 1, log1p: 1],
                            else: []
                          )

    setup do
      Nx.default_backend(Myelin.NxDoctestSetup.backend())
      :ok
    end

    doctest Nx,
      except:
        [:moduledoc] ++
          Myelin.NxDoctestSetup.except(@complex_doctests ++ @type_doctests ++ @precision_doctests)
  end

  defmodule Myelin.NxLinAlgDoctestTest do
    use ExUnit.Case, async: true

    setup do
      Nx.default_backend(Myelin.NxDoctestSetup.backend())
      :ok
    end

    # Complex inputs (no complex types in Myelin yet).
    @complex_doctests []

    # Last-digit float differences: f32 matrix products accumulate in f32
    # on Myelin (as in every BLAS) and in f64 on BinaryBackend.
    # (Nx 0.13 names: least_squares/3, lu/1.)
    @precision_doctests [least_squares: 2, lu: 2, matrix_power: 2, pinv: 2, solve: 2] ++
                          [cholesky: 1] ++
                          [least_squares: 3, lu: 1]

    doctest Nx.LinAlg,
      except: Myelin.NxDoctestSetup.except(@complex_doctests ++ @precision_doctests)
  end

  defmodule Myelin.NxRandomDoctestTest do
    use ExUnit.Case, async: true

    setup do
      Nx.default_backend(Myelin.NxDoctestSetup.backend())
      :ok
    end

    # normal/4 and uniform/4 also build complex tensors. gumbel/2 and
    # multivariate_normal/4 differ in the last digit: Myelin's vectorized
    # f32 exp/log (<= 1.24 ulp) and its correctly rounded erf_inv.
    @excluded [gumbel: 2, multivariate_normal: 4, normal: 4]

    doctest Nx.Random, except: Myelin.NxDoctestSetup.except(@excluded)
  end

  defmodule Myelin.NxOtherDoctestTest do
    use ExUnit.Case, async: true

    setup do
      Nx.default_backend(Myelin.NxDoctestSetup.backend())
      Nx.Defn.default_options(compiler: Nx.Defn.Evaluator)
      :ok
    end

    @excluded []

    doctest Nx.Constants, except: Myelin.NxDoctestSetup.except(@excluded)
    doctest Nx.Batch
    doctest Nx.Defn

    describe "Nx.Defn.Kernel" do
      use Nx.Defn.Kernel
      doctest Nx.Defn.Kernel
    end
  end
end
