//! The `sigfuse.device` setting: `cpu`, or `cuda:N` in a build with the `cuda` feature.

use candle_core::Device;

use crate::error::{ModelError, Result};

/// Parses a device setting (case-insensitive; `cuda` means `cuda:0`).
pub fn parse_device(setting: &str) -> Result<Device> {
    let s = setting.trim().to_ascii_lowercase();
    if s == "cpu" {
        return Ok(Device::Cpu);
    }
    let ordinal = match s.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ModelError::Device {
                got: setting.to_string(),
                reason: "expected 'cpu', 'cuda' or 'cuda:N' with N a GPU number".into(),
            })?,
        None => {
            return Err(ModelError::Device {
                got: setting.to_string(),
                reason: "expected 'cpu', 'cuda' or 'cuda:N'".into(),
            });
        }
    };
    cuda_device(setting, ordinal)
}

#[cfg(feature = "cuda")]
fn cuda_device(setting: &str, ordinal: usize) -> Result<Device> {
    Device::new_cuda(ordinal).map_err(|e| ModelError::Device {
        got: setting.to_string(),
        reason: format!("cannot open CUDA device {ordinal}: {e}"),
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(setting: &str, _ordinal: usize) -> Result<Device> {
    Err(ModelError::Device {
        got: setting.to_string(),
        reason: "this sigfuse was built without CUDA support (build with `--features cuda`)".into(),
    })
}

/// The canonical name of a device, as `SHOW` and error messages print it.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_parses_and_bad_settings_say_what_was_expected() {
        assert!(matches!(parse_device(" CPU ").unwrap(), Device::Cpu));
        assert_eq!(device_name(&parse_device("cpu").unwrap()), "cpu");
        let e = parse_device("gpu").unwrap_err().to_string();
        assert!(e.contains("'gpu'") && e.contains("cuda:N"), "{e}");
        let e = parse_device("cuda:x").unwrap_err().to_string();
        assert!(e.contains("'cuda:x'") && e.contains("GPU number"), "{e}");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        let e = parse_device("cuda:0").unwrap_err().to_string();
        assert!(e.contains("without CUDA support"), "{e}");
    }
}
