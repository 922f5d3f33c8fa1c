defmodule Myelin.Native do
  # The NIF entry points. Only Myelin's own modules call these; see
  # native/myelin_nif for the Rust side. Each returns {:ok, value} or
  # {:error, {:argument | :internal, message}}; `unwrap!/1` raises.
  #
  # Compute NIFs come in pairs: `name` runs on a normal scheduler and
  # `name_dirty` on a dirty CPU scheduler (see Myelin.Tensor's dispatch).
  @moduledoc false

  @on_load :load_nif

  @doc false
  def load_nif do
    path = :filename.join(:code.priv_dir(:myelin), ~c"libmyelin_nif")

    case :erlang.load_nif(path, 0) do
      :ok ->
        :ok

      {:error, {reason, text}} ->
        IO.warn(
          "Myelin could not load its native library #{path}.so (#{reason}): #{text}. " <>
            "Run `mix compile` to build it."
        )

        {:error, reason}
    end
  end

  @doc false
  def unwrap!({:ok, value}), do: value
  def unwrap!({:error, {:argument, message}}), do: raise(ArgumentError, message)
  def unwrap!({:error, {:internal, message}}), do: raise(Myelin.Error, message)

  defp nif_error, do: :erlang.nif_error(:nif_not_loaded)

  # guard.rs
  def debug_fault(_kind), do: nif_error()

  # device.rs
  def cuda_libraries, do: nif_error()
  def cuda_device_count, do: nif_error()
  def cuda_devices, do: nif_error()
  def backend_transfer(_ref, _device), do: nif_error()

  # conversion.rs
  def from_binary(_bin, _type, _shape), do: nif_error()
  def from_binary_dirty(_bin, _type, _shape), do: nif_error()
  def from_list(_list, _type, _shape), do: nif_error()
  def from_list_dirty(_list, _type, _shape), do: nif_error()
  def to_flat_list(_ref, _limit), do: nif_error()
  def to_flat_list_dirty(_ref, _limit), do: nif_error()
  def reshape(_ref, _shape), do: nif_error()
  def as_type(_ref, _type), do: nif_error()
  def as_type_dirty(_ref, _type), do: nif_error()
  def bitcast(_ref, _type), do: nif_error()
  def bitcast_dirty(_ref, _type), do: nif_error()
  def inspect_elements(_ref, _limit), do: nif_error()
  def inspect_elements_dirty(_ref, _limit), do: nif_error()

  # creation.rs
  def full(_value, _type, _shape), do: nif_error()
  def full_dirty(_value, _type, _shape), do: nif_error()
  def iota(_type, _shape, _axis), do: nif_error()
  def iota_dirty(_type, _shape, _axis), do: nif_error()
  def eye(_type, _shape), do: nif_error()
  def eye_dirty(_type, _shape), do: nif_error()
  def random_uniform(_seed, _min, _max, _type, _shape), do: nif_error()
  def random_uniform_dirty(_seed, _min, _max, _type, _shape), do: nif_error()
  def random_normal(_seed, _mean, _std, _type, _shape), do: nif_error()
  def random_normal_dirty(_seed, _mean, _std, _type, _shape), do: nif_error()

  # elementwise.rs
  def unary(_op, _ref), do: nif_error()
  def unary_dirty(_op, _ref), do: nif_error()

  # movement.rs (shape ops, indexing, sort)
  def transpose(_ref, _axes), do: nif_error()
  def transpose_dirty(_ref, _axes), do: nif_error()
  def squeeze(_ref, _axes), do: nif_error()
  def squeeze_dirty(_ref, _axes), do: nif_error()
  def new_axis(_ref, _axis), do: nif_error()
  def new_axis_dirty(_ref, _axis), do: nif_error()
  def broadcast(_ref, _shape, _axes), do: nif_error()
  def broadcast_dirty(_ref, _shape, _axes), do: nif_error()
  def slice(_ref, _starts, _lengths, _strides), do: nif_error()
  def slice_dirty(_ref, _starts, _lengths, _strides), do: nif_error()
  def put_slice(_ref, _starts, _slice), do: nif_error()
  def put_slice_dirty(_ref, _starts, _slice), do: nif_error()
  def concatenate(_refs, _axis), do: nif_error()
  def concatenate_dirty(_refs, _axis), do: nif_error()
  def stack(_refs, _axis), do: nif_error()
  def stack_dirty(_refs, _axis), do: nif_error()
  def pad(_ref, _value, _config), do: nif_error()
  def pad_dirty(_ref, _value, _config), do: nif_error()
  def reverse(_ref, _axes), do: nif_error()
  def reverse_dirty(_ref, _axes), do: nif_error()
  def gather(_ref, _indices), do: nif_error()
  def gather_dirty(_ref, _indices), do: nif_error()
  def take(_ref, _indices, _axis), do: nif_error()
  def take_dirty(_ref, _indices, _axis), do: nif_error()
  def take_along_axis(_ref, _indices, _axis), do: nif_error()
  def take_along_axis_dirty(_ref, _indices, _axis), do: nif_error()
  def indexed_add(_ref, _indices, _updates), do: nif_error()
  def indexed_add_dirty(_ref, _indices, _updates), do: nif_error()
  def indexed_put(_ref, _indices, _updates), do: nif_error()
  def indexed_put_dirty(_ref, _indices, _updates), do: nif_error()
  def sort(_ref, _axis, _desc), do: nif_error()
  def sort_dirty(_ref, _axis, _desc), do: nif_error()
  def argsort(_ref, _axis, _desc), do: nif_error()
  def argsort_dirty(_ref, _axis, _desc), do: nif_error()

  # binary.rs
  def binary(_op, _a, _b), do: nif_error()
  def binary_dirty(_op, _a, _b), do: nif_error()
  def select(_pred, _on_true, _on_false), do: nif_error()
  def select_dirty(_pred, _on_true, _on_false), do: nif_error()
  def clip(_t, _min, _max), do: nif_error()
  def clip_dirty(_t, _min, _max), do: nif_error()

  # f8.rs
  def f8_encode(_ref, _e4m3fn), do: nif_error()
  def f8_encode_dirty(_ref, _e4m3fn), do: nif_error()
  def f8_decode(_ref, _e4m3fn), do: nif_error()
  def f8_decode_dirty(_ref, _e4m3fn), do: nif_error()
  def f8_round(_ref, _e4m3fn), do: nif_error()
  def f8_round_dirty(_ref, _e4m3fn), do: nif_error()

  # pointer.rs
  def to_pointer(_ref), do: nif_error()
  def from_pointer(_address, _type, _shape), do: nif_error()
  def from_pointer_dirty(_address, _type, _shape), do: nif_error()

  # spectral.rs
  def fft(_ref, _inverse, _eps), do: nif_error()
  def fft_dirty(_ref, _inverse, _eps), do: nif_error()

  # reduction.rs
  def reduce(_op, _ref, _axes, _keep_axes), do: nif_error()
  def reduce_dirty(_op, _ref, _axes, _keep_axes), do: nif_error()
  def arg_reduce(_op, _ref, _axis, _tie_break, _keep_axis), do: nif_error()
  def arg_reduce_dirty(_op, _ref, _axis, _tie_break, _keep_axis), do: nif_error()
  def cumulative(_op, _ref, _axis, _reverse), do: nif_error()
  def cumulative_dirty(_op, _ref, _axis, _reverse), do: nif_error()
  def dot(_a, _ca, _ba, _b, _cb, _bb), do: nif_error()
  def dot_dirty(_a, _ca, _ba, _b, _cb, _bb), do: nif_error()

  # nn.rs
  def conv(_input, _kernel, _strides, _padding, _input_dilation, _kernel_dilation, _groups),
    do: nif_error()

  def conv_dirty(_input, _kernel, _strides, _padding, _input_dilation, _kernel_dilation, _groups),
    do: nif_error()

  def window_reduce(_op, _ref, _window, _strides, _padding, _dilations), do: nif_error()
  def window_reduce_dirty(_op, _ref, _window, _strides, _padding, _dilations), do: nif_error()

  def window_scatter(_ref, _source, _init, _max, _window, _strides, _padding, _dilations),
    do: nif_error()

  def window_scatter_dirty(_ref, _source, _init, _max, _window, _strides, _padding, _dilations),
    do: nif_error()

  # linalg.rs
  def lu(_ref, _eps), do: nif_error()
  def lu_dirty(_ref, _eps), do: nif_error()
  def eigh(_ref, _eps, _max_iter), do: nif_error()
  def eigh_dirty(_ref, _eps, _max_iter), do: nif_error()
  def triangular_solve(_a, _b, _lower, _left_side, _transpose_a), do: nif_error()
  def triangular_solve_dirty(_a, _b, _lower, _left_side, _transpose_a), do: nif_error()

  # graph.rs (tracing, autodiff, compiled graphs)
  def graph_new, do: nif_error()
  def graph_input(_graph, _type, _shape), do: nif_error()
  def graph_param(_graph, _type, _shape), do: nif_error()
  def graph_constant(_graph, _ref), do: nif_error()
  def graph_op(_graph, _name, _args), do: nif_error()
  def graph_grad(_graph, _output, _wrt), do: nif_error()
  def graph_compile(_graph, _outputs), do: nif_error()
  def exe_run(_exe, _inputs, _params, _seed), do: nif_error()
  def exe_run_dirty(_exe, _inputs, _params, _seed), do: nif_error()
  def profile_start, do: nif_error()
  def profile_stop, do: nif_error()

  # train.rs
  def trainer_new(_params, _trainable, _kind, _hyper, _weight_decay, _clip), do: nif_error()

  def trainer_step(_trainer, _exe, _extra, _inputs, _lr, _seed), do: nif_error()
  def trainer_snapshot(_trainer), do: nif_error()
  def trainer_restore(_trainer, _params, _state, _step), do: nif_error()
  # io.rs (dirty IO schedulers only)
  def safetensors_save(_path, _entries, _metadata), do: nif_error()
  def safetensors_load(_path), do: nif_error()
end
