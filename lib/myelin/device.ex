defmodule Myelin.Device do
  @moduledoc """
  Devices: the CPU and NVIDIA GPUs through CUDA.

  Every tensor lives on one device: `:cpu` (host memory) or `{:cuda, n}`
  (GPU `n`). `Myelin.Tensor.backend_transfer/2` moves tensors between them
  and `Myelin.Tensor.device/1` tells where one is.

  CUDA needs no toolkit to build Myelin: the driver, NVRTC and cuBLAS are
  loaded at run time, from the system's library path or `LD_LIBRARY_PATH`
  (PyPI's `nvidia-cuda-nvrtc-cu12` and `nvidia-cublas-cu12` wheels provide
  the last two). Without them, or without a GPU, asking for `:cuda` raises
  a `Myelin.Error` that says what is missing, and nothing else changes.
  Kernels are compiled for the GPU at first use and cached on disk (see
  docs/CUDA.md).

  On the GPU so far: transfers, `as_type`, every unary and binary
  elementwise op, the reductions `sum`, `product`, `mean`, `reduce_min`,
  `reduce_max`, `all` and `any`, and `dot` (through cuBLAS). Any other op
  given a GPU tensor raises an `ArgumentError` that names the device and
  says to transfer the tensor to `:cpu`.
  """

  alias Myelin.Native
  alias Myelin.Tensor

  @doc """
  Which CUDA libraries this process can load, as
  `%{driver: boolean, nvrtc: boolean, cublas: boolean}`. Never raises.

      iex> Myelin.Device.cuda_libraries() |> Map.keys() |> Enum.sort()
      [:cublas, :driver, :nvrtc]
  """
  @spec cuda_libraries() :: %{driver: boolean(), nvrtc: boolean(), cublas: boolean()}
  def cuda_libraries, do: Native.cuda_libraries() |> Native.unwrap!()

  @doc """
  True when at least one GPU can be used (the driver, NVRTC and a
  device are all present). Never raises.

      iex> is_boolean(Myelin.Device.cuda_available?())
      true
  """
  @spec cuda_available?() :: boolean()
  def cuda_available?, do: is_nil(cuda_unavailable_reason())

  @doc """
  The GPUs, as maps with `:ordinal`, `:name`, `:compute_capability` and
  `:total_memory` (bytes). Raises `Myelin.Error` saying what is missing
  when CUDA is not available.
  """
  @spec cuda_devices() :: [map()]
  def cuda_devices, do: Native.cuda_devices() |> Native.unwrap!()

  @doc """
  Why CUDA cannot be used, or `nil` when it can.

      iex> reason = Myelin.Device.cuda_unavailable_reason()
      iex> is_nil(reason) or is_binary(reason)
      true
  """
  @spec cuda_unavailable_reason() :: String.t() | nil
  def cuda_unavailable_reason do
    # Counting devices initializes the driver but opens no GPU (no context).
    case Native.cuda_device_count() do
      {:ok, n} when n > 0 -> nil
      {:ok, 0} -> "the CUDA driver reports no GPU"
      {:error, {_kind, message}} -> message
    end
  end

  @doc false
  # Myelin.Tensor.backend_transfer/2.
  def transfer(%Tensor{} = t, device) do
    target = normalize!(device)

    if Tensor.device(t) == target do
      t
    else
      Native.backend_transfer(t.ref, target) |> Native.unwrap!() |> Tensor.wrap()
    end
  end

  @doc false
  # Myelin.Tensor.device/1.
  def of(%Tensor{data: {:cuda, n}}), do: {:cuda, n}
  def of(%Tensor{}), do: :cpu

  defp normalize!(:cpu), do: :cpu
  defp normalize!(:cuda), do: {:cuda, 0}
  defp normalize!({:cuda, n}) when is_integer(n) and n >= 0, do: {:cuda, n}

  defp normalize!(other) do
    raise ArgumentError,
          "backend_transfer: expected a device :cpu, :cuda or {:cuda, ordinal}, got #{inspect(other)}"
  end
end
