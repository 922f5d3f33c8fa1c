# The main job until training lands (issue 3): loads Fashion-MNIST's test
# images, and runs a few tensor-engine operations on them, reporting speed.
alias Myelin.Tensor, as: T

dir = System.get_env("MYELIN_DATA", "/usr/share/datasets/fashion-mnist")
path = Path.join(dir, "t10k-images-idx3-ubyte.gz")

unless File.exists?(path) do
  IO.puts(
    :stderr,
    "No data at #{path}: install Debian's dataset-fashion-mnist or set MYELIN_DATA."
  )

  System.halt(1)
end

<<0, 0, 8, 3, n::32, rows::32, cols::32, pixels::binary>> = path |> File.read!() |> :zlib.gunzip()
{micros, images} = :timer.tc(fn -> T.from_binary(pixels, :u8, shape: {n, rows * cols}) end)
IO.puts("loaded #{n} images of #{rows}x#{cols} in #{div(micros, 1000)} ms")

{micros, scaled} = :timer.tc(fn -> images |> T.as_type(:f32) |> T.sigmoid() end)
IO.puts("as_type + sigmoid over #{T.size(images)} pixels: #{Float.round(micros / 1000, 2)} ms")
IO.inspect(T.reshape(scaled, {n, rows, cols}), limit: 10)
