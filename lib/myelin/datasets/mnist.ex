defmodule Myelin.Datasets.MNIST do
  @moduledoc false
  # Loads the four IDX files of MNIST (or Fashion-MNIST, which uses the same
  # names and layout) from one directory, raw or gzipped.

  alias Myelin.Datasets.{Error, IDX}
  alias Myelin.Tensor

  @files [
    train: {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
    test: {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
  ]

  @spec load!(Path.t(), boolean(), boolean(), :integer | :one_hot) :: %{
          train: {Tensor.t(), Tensor.t()},
          test: {Tensor.t(), Tensor.t()}
        }
  def load!(dir, flatten?, normalize?, labels) do
    unless File.dir?(dir), do: fail!("#{inspect(dir)} is not a directory")

    Map.new(@files, fn {split, {images_name, labels_name}} ->
      images = read!(dir, images_name)
      label_t = read!(dir, labels_name)
      check!(images, label_t, images_name, labels_name)
      {split, {images(images, flatten?, normalize?), labels(label_t, labels)}}
    end)
  end

  # The raw file wins when both are present: it is the one a user unpacked.
  defp read!(dir, name) do
    candidates = [name, name <> ".gz"]

    case Enum.find(candidates, &File.regular?(Path.join(dir, &1))) do
      nil -> fail!("found neither #{name} nor #{name}.gz in #{dir}")
      file -> IDX.read!(Path.join(dir, file))
    end
  end

  defp check!(images, labels, images_name, labels_name) do
    case {images, labels} do
      {%{type: {:u, 8}, shape: {n, _, _}}, %{type: {:u, 8}, shape: {n}}} ->
        :ok

      {%{type: {:u, 8}, shape: {n, _, _}}, %{type: {:u, 8}, shape: {m}}} ->
        fail!("#{images_name} has #{n} images but #{labels_name} has #{m} labels")

      {%{type: {:u, 8}, shape: {_, _, _}}, _} ->
        fail!("#{labels_name} holds #{describe(labels)}, expected a {n} tensor of {:u, 8}")

      _ ->
        fail!(
          "#{images_name} holds #{describe(images)}, expected a {n, rows, cols} tensor of {:u, 8}"
        )
    end
  end

  defp images(%{shape: {n, rows, cols}} = t, flatten?, normalize?) do
    t = if flatten?, do: Tensor.reshape(t, {n, rows * cols}), else: t
    if normalize?, do: t |> Tensor.as_type({:f, 32}) |> Tensor.divide(255.0), else: t
  end

  defp labels(t, :integer), do: Tensor.as_type(t, {:s, 64})
  defp labels(t, :one_hot), do: Myelin.Datasets.one_hot(t, 10)

  defp describe(t), do: "a #{inspect(t.shape)} tensor of #{inspect(t.type)}"

  defp fail!(problem), do: raise(Error, "mnist: #{problem}")
end
