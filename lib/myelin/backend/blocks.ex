if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.Blocks do
    @moduledoc false
    # Nx 0.13's block/4 for Myelin.Backend: Nx hands composite ops to the
    # backend as Nx.Block structs. Those the engine computes natively go to
    # the backend's own callbacks (the same functions the Nx 0.7 callbacks
    # are); the rest run Nx's default implementation (`fun`), built from the
    # other callbacks, so on the engine too. LU and eigh take the default:
    # in 0.13 BinaryBackend's results are the default's, not those of the
    # 0.7 algorithms that Myelin.Tensor.LinAlg ports.

    @cumulative %{
      Nx.Block.CumulativeSum => :cumulative_sum,
      Nx.Block.CumulativeProduct => :cumulative_product,
      Nx.Block.CumulativeMin => :cumulative_min,
      Nx.Block.CumulativeMax => :cumulative_max
    }

    @doc false
    def run(struct, output, args, fun) do
      case {struct, args} do
        {%{__struct__: Nx.Block.Take, axis: axis}, [t, indices | _]} ->
          Myelin.Backend.take(output, t, indices, axis)

        {%{__struct__: Nx.Block.TakeAlongAxis, axis: axis}, [t, indices | _]} ->
          Myelin.Backend.take_along_axis(output, t, indices, axis)

        {%{__struct__: Nx.Block.LogicalNot}, [t | _]} ->
          Myelin.Backend.logical_not(output, t)

        {%{__struct__: name, axis: axis, reverse: reverse}, [t | _]}
        when is_map_key(@cumulative, name) ->
          opts = [axis: axis, reverse: reverse]
          apply(Myelin.Backend, @cumulative[name], [output, t, opts])

        _ ->
          apply(fun, [struct | args])
      end
    end
  end
end
