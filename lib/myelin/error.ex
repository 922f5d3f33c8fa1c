defmodule Myelin.Error do
  @moduledoc """
  Raised when the engine cannot do something that was asked correctly: an
  internal fault (including a caught panic in native code), memory
  exhaustion, or a missing device. Bad arguments raise `ArgumentError`.

  The message starts with the name of the op that failed.
  """
  defexception [:message]
end
