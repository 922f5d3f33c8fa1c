defmodule Myelin.Param do
  @moduledoc """
  A trainable parameter of a custom layer, made by `Myelin.param/3`: its
  name, its shape (a tuple, or a function of the layer's input shapes)
  and its initializer.
  """

  defstruct [:name, :shape, :initializer]

  @type t :: %__MODULE__{
          name: String.t(),
          shape: tuple() | function(),
          initializer: atom() | {atom(), keyword()}
        }
end
