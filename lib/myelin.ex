defmodule Myelin do
  @moduledoc """
  Myelin: a machine-learning engine for the BEAM.

  Tensors, kernels and (soon) autodiff and model layers live in a Rust NIF;
  this library is the Elixir API on top. Start with `Myelin.Tensor`.
  """
end
