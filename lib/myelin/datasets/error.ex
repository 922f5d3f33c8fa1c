defmodule Myelin.Datasets.Error do
  @moduledoc """
  Raised when a data file cannot be read as what it claims to be: a bad
  magic number, truncated or surplus data, an unknown type code, bad gzip,
  a non-numeric CSV cell, ragged rows. The message names the function, the
  file and the problem. A missing file raises `File.Error` instead, and bad
  arguments raise `ArgumentError`.
  """
  defexception [:message]
end
